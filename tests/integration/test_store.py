"""The encrypted store with real SQLCipher on disk (never faked)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlcipher3

from appliance.errors import StoreError
from appliance.services.app_db import MIGRATIONS
from appliance.store import db as db_module
from appliance.store.calls import CallRepository
from appliance.store.db import Database

pytestmark = pytest.mark.integration

KEY = "5a" * 32
SECRET = "Bartholomew Quincy-Oduya, born 1961, asthma inhaler refill"
WORDS = ("Bartholomew", "Quincy", "asthma", "inhaler")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "a.db"


@pytest.fixture
def db(path: Path) -> Iterator[Database]:
    database = Database.open(path, KEY, MIGRATIONS)
    yield database
    database.close()


async def fill(repo: CallRepository, call_id: str = "c1") -> None:
    await repo.start_call(call_id, 1000.0, "PCMU", "h")
    await repo.add_turn(call_id, "agent", "Hello, how can I help?", 1000.0, 1001.0, {})
    await repo.add_turn(call_id, "caller", SECRET, 1002.0, 1004.0, {"stt_done": 0.4}, -0.2)
    await repo.add_event(call_id, "stage-failed", "llm", "llm-timeout", 1005.0)
    await repo.end_call(call_id, 1006.0, "failed")


def raw_files(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p.name.startswith(path.name)]


def header(path: Path) -> bytes:
    return path.read_bytes()[:16]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loosen(path: Path) -> None:
    path.chmod(0o644)


def plaintext_hits(files: list[Path]) -> list[tuple[str, str]]:
    return [(w, p.name) for p in files for w in WORDS if w.encode() in p.read_bytes()]


async def test_round_trip(db: Database) -> None:
    repo = CallRepository(db)
    await fill(repo)
    await repo.start_call("c2", 2000.0, "G722", "h2")
    second, first = repo.list_calls()
    assert (second.call_id, second.ended_at, second.duration, second.outcome) == (
        "c2", None, None, None,
    )  # fmt: skip
    assert (first.call_id, first.codec, first.outcome, first.turn_count) == (
        "c1", "PCMU", "failed", 2,
    )  # fmt: skip
    assert (first.started_at, first.ended_at, first.duration) == (1000.0, 1006.0, 6.0)
    assert [c.call_id for c in repo.list_calls(limit=1)] == ["c2"]
    agent, caller = repo.turns("c1")
    assert (agent.seq, agent.speaker, agent.timings, agent.stt_confidence) == (1, "agent", {}, None)
    assert (caller.seq, caller.speaker, caller.text) == (2, "caller", SECRET)
    assert (caller.started_at, caller.ended_at) == (1002.0, 1004.0)
    assert caller.timings == {"stt_done": 0.4} and caller.stt_confidence == -0.2
    [event] = repo.events("c1")
    assert (event.kind, event.stage, event.code, event.at) == (
        "stage-failed", "llm", "llm-timeout", 1005.0,
    )  # fmt: skip
    assert repo.turns("nope") == [] and repo.events("nope") == []


async def test_no_plaintext_in_db_wal_or_shm(path: Path) -> None:
    db = Database.open(path, KEY, MIGRATIONS)
    repo = CallRepository(db)
    await fill(repo)
    files = raw_files(path)
    names = {p.name for p in files}
    assert names >= {"a.db", "a.db-wal", "a.db-shm"}
    # before any checkpoint the new pages live in the WAL: it must hold data, encrypted
    assert (path.parent / "a.db-wal").stat().st_size > 4096
    assert plaintext_hits(files) == []
    assert repo.turns("c1")[1].text == SECRET  # readable through the key
    db.checkpoint()
    assert (path.parent / "a.db-wal").stat().st_size == 0
    assert plaintext_hits(raw_files(path)) == []
    db.close()  # the last close checkpoints and removes the WAL
    assert plaintext_hits(raw_files(path)) == []
    assert header(path) != b"SQLite format 3\x00"


def test_the_plaintext_check_would_see_an_unencrypted_file(tmp_path: Path) -> None:
    """Control: the same raw-bytes scan finds the words in a plain SQLite file."""
    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (SECRET,))
    conn.commit()
    conn.close()
    assert len(plaintext_hits([plain])) == len(WORDS)


async def test_file_modes_are_0600_whatever_the_umask(path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = Database.open(path, KEY, MIGRATIONS)
        await fill(CallRepository(db))
        files = raw_files(path)
        assert len(files) == 3
        for p in files:
            assert mode(p) == 0o600, p.name
        assert mode(path.parent) == 0o700
        db.close()
        loosen(path)
        Database.open(path, KEY, MIGRATIONS).close()
        assert mode(path) == 0o600
    finally:
        os.umask(old)


async def test_wrong_key_is_refused(path: Path) -> None:
    db = Database.open(path, KEY, MIGRATIONS)
    await fill(CallRepository(db))
    db.close()
    wrong = "00" * 32
    with pytest.raises(StoreError) as err:
        Database.open(path, wrong, MIGRATIONS)
    assert err.value.code == "store-bad-key"
    assert wrong not in str(err.value) and "asthma" not in str(err.value)
    plain = sqlcipher3.connect(str(path))  # no key at all
    with pytest.raises(sqlcipher3.DatabaseError):
        plain.execute("SELECT * FROM turns").fetchall()
    plain.close()
    reopened = Database.open(path, KEY, MIGRATIONS)  # the refused attempts changed nothing
    assert len(CallRepository(reopened).turns("c1")) == 2
    reopened.close()


@pytest.mark.parametrize("key", ["secret", "5a" * 31, "zz" * 32, "5a" * 33])
def test_key_must_be_256_bits_of_hex(path: Path, key: str) -> None:
    with pytest.raises(StoreError) as err:
        Database.open(path, key, MIGRATIONS)
    assert err.value.code == "store-bad-key-format"


def test_a_plaintext_database_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as err:
        Database.open(plain, KEY, MIGRATIONS)
    assert err.value.code == "store-not-encrypted"


def test_refuses_to_run_without_sqlcipher(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain SQLite library (no cipher_version) must never be used for the store."""
    monkeypatch.setattr(db_module.sqlcipher3, "connect", sqlite3.connect)
    with pytest.raises(StoreError) as err:
        Database.open(path, KEY, MIGRATIONS)
    assert err.value.code == "store-not-encrypted"
    assert path.stat().st_size == 0  # nothing was written in the clear


async def test_reopen_keeps_data_and_migrations_are_idempotent(path: Path) -> None:
    db = Database.open(path, KEY, MIGRATIONS)
    assert db.schema_version == len(MIGRATIONS)
    await fill(CallRepository(db))
    db.close()
    db = Database.open(path, KEY, MIGRATIONS)
    db.migrate(MIGRATIONS)
    assert db.schema_version == len(MIGRATIONS)
    assert len(CallRepository(db).turns("c1")) == 2
    db.close()


def test_a_newer_schema_is_refused(path: Path) -> None:
    db = Database.open(path, KEY, MIGRATIONS)
    db.execute(lambda conn: conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}"))
    db.close()
    with pytest.raises(StoreError) as err:
        Database.open(path, KEY, MIGRATIONS)
    assert err.value.code == "store-schema-newer"


async def test_concurrent_writers(db: Database) -> None:
    repo = CallRepository(db)
    await asyncio.gather(*(fill(repo, f"call-{i}") for i in range(20)))
    await repo.start_call("shared", 3000.0, "PCMU", "h")
    seqs = await asyncio.gather(
        *(repo.add_turn("shared", "caller", f"w{i}", 3000.0, 3001.0, {}) for i in range(30))
    )
    assert sorted(seqs) == list(range(1, 31))
    calls = repo.list_calls(50)
    assert len(calls) == 21
    assert all(c.turn_count == 2 for c in calls if c.call_id != "shared")
    assert db.query(lambda conn: conn.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"


async def test_a_second_connection_reads_while_the_first_writes(path: Path, db: Database) -> None:
    """The CLI (`appliance db calls`) opens its own connection while the agent runs."""
    await fill(CallRepository(db))
    cli = Database.open(path, KEY, MIGRATIONS)
    try:
        [call] = CallRepository(cli).list_calls()
        assert call.turn_count == 2
    finally:
        cli.close()
    await CallRepository(db).add_turn("c1", "agent", "Goodbye", 1007.0, 1008.0, {})


async def test_failed_writes_lose_nothing_and_leak_nothing(db: Database) -> None:
    repo = CallRepository(db)
    await fill(repo)
    with pytest.raises(StoreError) as err:
        await repo.start_call("c1", 1.0, "PCMU", "Quincy-hash")  # duplicate id
    assert err.value.code == "store-write-failed"
    assert "Quincy" not in str(err.value)
    with pytest.raises(StoreError) as err:  # foreign key: no such call
        await repo.add_turn("ghost", "caller", SECRET, 1.0, 2.0, {})
    assert err.value.code == "store-write-failed"
    assert all(w not in str(err.value) for w in WORDS)
    with pytest.raises(StoreError) as err:
        await repo.end_call("ghost", 2.0, "completed")
    assert err.value.code == "store-unknown-call"
    assert len(repo.turns("c1")) == 2
    assert [c.call_id for c in repo.list_calls()] == ["c1"]


async def test_bad_input_is_refused_with_a_code(db: Database) -> None:
    repo = CallRepository(db)
    await repo.start_call("c1", 1000.0, "PCMU", "h")
    with pytest.raises(StoreError) as err:
        await repo.add_turn("c1", "doctor", "hi", 1.0, 2.0, {})
    assert err.value.code == "store-bad-speaker"
    with pytest.raises(StoreError) as err:
        repo.list_calls(0)
    assert err.value.code == "store-bad-limit"
    timings = {"stt_done": float("nan"), "first_sentence": float("inf"), "end_of_turn": 0.7}
    await repo.add_turn("c1", "caller", "hi", 1.0, 2.0, timings)
    [turn] = repo.turns("c1")
    assert turn.timings == {"stt_done": None, "first_sentence": None, "end_of_turn": 0.7}


async def test_a_failing_unit_of_work_is_rolled_back(db: Database) -> None:
    def half_done(conn: db_module.Connection) -> None:
        conn.execute(
            "INSERT INTO calls (call_id, started_at, codec, remote_hash)"
            " VALUES ('x', 1, 'PCMU', 'h')"
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.run(half_done)
    assert CallRepository(db).list_calls() == []


async def test_closed_store_raises_a_coded_error(path: Path) -> None:
    db = Database.open(path, KEY, MIGRATIONS)
    db.close()
    db.close()  # idempotent
    with pytest.raises(StoreError) as err:
        await CallRepository(db).start_call("c1", 1.0, "PCMU", "h")
    assert err.value.code == "store-closed"


async def test_writes_do_not_need_the_default_thread_pool(db: Database) -> None:
    """STT/TTS occupy asyncio's default pool; the store has its own thread."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(pool)
    release = threading.Event()
    busy = asyncio.create_task(asyncio.to_thread(release.wait))
    try:
        repo = CallRepository(db)
        await asyncio.wait_for(fill(repo), 5)
        assert len(repo.turns("c1")) == 2
    finally:
        release.set()
        await busy


async def test_a_cancelled_write_is_still_committed_whole(path: Path) -> None:
    db = Database.open(path, KEY, MIGRATIONS)
    repo = CallRepository(db)
    await repo.start_call("c1", 1.0, "PCMU", "h")
    task = asyncio.create_task(repo.add_turn("c1", "caller", SECRET, 1.0, 2.0, {}))
    await asyncio.sleep(0)  # submitted to the store's thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    db.close()  # waits for queued writes
    db = Database.open(path, KEY, MIGRATIONS)
    assert [t.text for t in CallRepository(db).turns("c1")] == [SECRET]
    db.close()

"""The encrypted store with real SQLCipher on disk."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
import sqlcipher3

from appliance.errors import StoreError
from appliance.store.calls import CallRepository
from appliance.store.db import Database

pytestmark = pytest.mark.integration

KEY = "5a" * 32
SECRET = "Bartholomew Quincy-Oduya, born 1961, asthma inhaler refill"


async def fill(repo: CallRepository, call_id: str = "c1") -> None:
    await repo.start_call(call_id, 1000.0, "PCMU", "h")
    await repo.add_turn(call_id, "agent", "Hello, how can I help?", 1000.0, 1001.0, {})
    await repo.add_turn(call_id, "caller", SECRET, 1002.0, 1004.0, {"stt_done": 0.4}, -0.2)
    await repo.add_event(call_id, "stage-failed", "llm", "llm-timeout", 1005.0)
    await repo.end_call(call_id, 1006.0, "failed")


def raw_files(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p.name.startswith(path.name)]


async def test_round_trip(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "a.db", KEY)
    repo = CallRepository(db)
    await fill(repo)
    [call] = repo.list_calls()
    assert (call.call_id, call.codec, call.outcome, call.turn_count) == ("c1", "PCMU", "failed", 2)
    assert call.duration == 6.0
    turns = repo.turns("c1")
    assert [t.seq for t in turns] == [1, 2]
    assert turns[1].text == SECRET and turns[1].timings == {"stt_done": 0.4}
    assert turns[1].stt_confidence == -0.2
    [event] = repo.events("c1")
    assert (event.kind, event.stage, event.code) == ("stage-failed", "llm", "llm-timeout")
    db.close()


async def test_no_plaintext_in_db_wal_or_shm(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    db = Database.open(path, KEY)
    await fill(CallRepository(db))
    files = raw_files(path)
    assert {p.name for p in files} >= {"a.db", "a.db-wal"}
    for word in ("Bartholomew", "Quincy", "asthma", "inhaler"):
        for p in files:
            assert word.encode() not in p.read_bytes(), (word, p.name)
    db.close()
    for p in raw_files(path):  # after the checkpoint on close, too
        assert b"asthma" not in p.read_bytes()
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


async def test_wrong_key_and_no_key_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    db = Database.open(path, KEY)
    await fill(CallRepository(db))
    db.close()
    with pytest.raises(StoreError) as err:
        Database.open(path, "00" * 32)
    assert err.value.code == "store-bad-key"
    assert "asthma" not in str(err.value)
    plain = sqlcipher3.connect(str(path))
    with pytest.raises(sqlcipher3.DatabaseError):
        plain.execute("SELECT * FROM turns").fetchall()
    plain.close()
    assert path.read_bytes()[:16] != b"SQLite format 3\x00"


def test_key_must_be_256_bits(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        Database.open(tmp_path / "a.db", "secret")
    assert err.value.code == "store-bad-key-format"


async def test_reopen_keeps_data_and_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    db = Database.open(path, KEY)
    await fill(CallRepository(db))
    db.close()
    db = Database.open(path, KEY)
    db.migrate()
    assert len(CallRepository(db).turns("c1")) == 2
    db.close()


async def test_concurrent_writers(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "a.db", KEY)
    repo = CallRepository(db)
    await asyncio.gather(*(fill(repo, f"call-{i}") for i in range(20)))
    calls = repo.list_calls(50)
    assert len(calls) == 20 and all(c.turn_count == 2 for c in calls)
    db.close()


async def test_failed_write_loses_nothing_committed(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "a.db", KEY)
    repo = CallRepository(db)
    await fill(repo)
    with pytest.raises(StoreError) as err:
        await repo.start_call("c1", 1.0, "PCMU", "h")  # duplicate id
    assert err.value.code == "store-write-failed"
    assert len(repo.turns("c1")) == 2
    db.close()

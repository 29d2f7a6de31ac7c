"""The tamper-evident audit log on a real SQLCipher store, and its offline export."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.__main__ import main
from appliance.config import Settings, load_settings
from appliance.errors import StoreError
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import (
    EXPORT_CHECKPOINTS,
    EXPORT_RECORDS,
    AuditEvent,
    AuditLog,
    read_anchors,
    verify_export,
)
from appliance.store.audit_chain import GENESIS, AuditRecord, Verdict, record_hash
from appliance.store.bootstrap import db_key, open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.conftest import store_config

pytestmark = pytest.mark.integration

SECRET = "Philomena Zarkov-Ibe"


def make_settings(tmp: Path, every: int = 5) -> tuple[Settings, Path]:
    config = store_config(tmp, f"audit_checkpoint_every = {every}")
    return load_settings(config), config


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Path]]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    settings, config = make_settings(tmp_path)
    db = open_database(settings, MIGRATIONS, create=True)
    log = AuditLog(db)
    for n in range(12):
        log.append(AuditEvent("tester", "operator", f"test.action-{n}", object_id=str(n)))
    db.close()
    yield settings, config


def raw(settings: Settings) -> Any:
    """A raw connection with the key, as an attacker holding the key would have."""
    conn = sqlcipher3.connect(str(settings.path(settings.store.db_file)), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{db_key(settings).hex}'\"")
    for trigger in ("audit_no_update", "audit_no_delete", "audit_checkpoints_no_delete"):
        conn.execute(f"DROP TRIGGER {trigger}")
    return conn


def verify(settings: Settings, anchor: Path | None = None) -> tuple[bool, int | None, str]:
    db = open_database(settings, MIGRATIONS)
    try:
        verdict = AuditLog(db).verify(read_anchors(anchor)[0] if anchor else [])
    finally:
        db.close()
    return verdict.ok, verdict.first_bad, verdict.problem or ""


def test_an_untouched_log_verifies_with_periodic_checkpoints(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    db = open_database(settings, MIGRATIONS)
    verdict = AuditLog(db).verify()
    db.close()
    assert verdict.ok and verdict.records == 12 and verdict.checkpoints == 2  # at 5 and 10


def test_the_store_refuses_updates_and_deletes(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    db = open_database(settings, MIGRATIONS)
    try:
        for sql in ("UPDATE audit SET outcome = 'failed'", "DELETE FROM audit WHERE seq = 3"):
            with pytest.raises(StoreError) as err:
                db.execute(lambda c, s=sql: c.execute(s))
            assert err.value.code == "store-write-failed"
            assert isinstance(err.value.__cause__, sqlcipher3.IntegrityError)
            assert "append-only" in str(err.value.__cause__)
    finally:
        db.close()


def test_an_edited_field_is_named(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    raw(settings).execute("UPDATE audit SET outcome = 'denied' WHERE seq = 7")
    ok, first_bad, problem = verify(settings)
    assert (ok, first_bad) == (False, 7) and "edited" in problem


def test_a_deleted_middle_record_is_named(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    raw(settings).execute("DELETE FROM audit WHERE seq = 7")
    ok, first_bad, problem = verify(settings)
    assert (ok, first_bad) == (False, 7) and "missing" in problem


def test_two_swapped_records_are_named(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    conn = raw(settings)
    conn.execute("UPDATE audit SET seq = -1 WHERE seq = 3")
    conn.execute("UPDATE audit SET seq = 3 WHERE seq = 4")
    conn.execute("UPDATE audit SET seq = 4 WHERE seq = -1")
    ok, first_bad, _ = verify(settings)
    assert (ok, first_bad) == (False, 3)


def _forge(seq: int, prev: str) -> tuple[Any, ...]:
    body = asdict(
        AuditRecord(seq, "2026-01-01T00:00:00.000000+00:00", "x", "operator", "forged",
                    None, None, "ok", None, None, "store", prev, "")
    )  # fmt: skip
    del body["hash"]
    return (*body.values(), record_hash(body))


def test_a_forged_record_inserted_in_the_middle_is_named(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    conn = raw(settings)
    for seq in range(12, 6, -1):  # make room at 7, as a careful forger would
        conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq + 1, seq))
    prev = conn.execute("SELECT hash FROM audit WHERE seq = 6").fetchone()[0]
    conn.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", _forge(7, prev))
    ok, first_bad, problem = verify(settings)
    assert (ok, first_bad) == (False, 7) and "link" in problem


def test_a_rebuilt_chain_fails_the_signed_checkpoint(setup: tuple[Settings, Path]) -> None:
    """A forger with the DB key but not the signing key rewrites the whole chain."""
    settings, _ = setup
    conn = raw(settings)
    rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    conn.execute("DELETE FROM audit")
    prev = GENESIS
    for row in rows:
        record = AuditRecord(*row)
        body = {**record.body(), "prev_hash": prev}
        if record.seq == 2:
            body["outcome"] = "denied"
        prev = record_hash(body)
        conn.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (*body.values(), prev))
    ok, first_bad, problem = verify(settings)
    assert not ok and first_bad == 1 and "signed checkpoint at 5" in problem


def test_a_deleted_tail_is_caught_by_an_exported_checkpoint(
    setup: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, config = setup
    assert main(["--config", str(config), "audit", "export", "--out", str(tmp_path / "ex")]) == 0
    anchor = tmp_path / "ex" / EXPORT_CHECKPOINTS  # kept off the box by the auditor
    conn = raw(settings)
    conn.execute("DELETE FROM audit WHERE seq > 8")
    conn.execute("DELETE FROM audit_checkpoints WHERE seq > 8")
    assert verify(settings)[0]  # consistent on its own...
    ok, first_bad, problem = verify(settings, anchor)
    assert (ok, first_bad) == (False, 9) and "tail deleted" in problem  # ...not against the anchor
    code = main(["--config", str(config), "audit", "verify", "--anchor", str(anchor)])
    assert code == 1


def test_export_verifies_offline_and_detects_edits(
    setup: tuple[Settings, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = setup
    out = tmp_path / "export"
    assert main(["--config", str(config), "audit", "export", "--out", str(out)]) == 0
    assert main(["--config", str(config), "audit", "verify", "--export", str(out)]) == 0
    assert "audit OK: 13 records" in capsys.readouterr().out  # 12 + the export itself
    lines = (out / EXPORT_RECORDS).read_text().splitlines()
    record = json.loads(lines[3])
    record["actor"] = "someone-else"
    lines[3] = json.dumps(record, sort_keys=True)
    (out / EXPORT_RECORDS).write_text("\n".join(lines) + "\n")
    assert main(["--config", str(config), "audit", "verify", "--export", str(out)]) == 1
    assert "FAILED at record 4" in capsys.readouterr().err
    verdict = verify_export(out)
    assert (verdict.ok, verdict.first_bad) == (False, 4)


def test_cli_verify_names_the_first_bad_record(
    setup: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, config = setup
    assert main(["--config", str(config), "audit", "verify"]) == 0
    raw(settings).execute("UPDATE audit SET action = 'x' WHERE seq = 11")
    assert main(["--config", str(config), "audit", "verify"]) == 1
    assert "FAILED at record 11" in capsys.readouterr().err


async def test_calls_append_metadata_only_audit_records(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    db = open_database(settings, MIGRATIONS)
    try:
        repo, t = CallRepository(db), 4_102_444_800.0  # 2100: after the setup's records
        await repo.start_call("call-1", t, "PCMU", "h")
        await repo.add_turn("call-1", "caller", SECRET, t + 1, t + 2, {})
        await repo.add_event("call-1", "stage-failed", "llm", "llm-timeout", t + 3)
        await repo.end_call("call-1", t + 4, "failed")
        records = db.query(lambda c: c.execute("SELECT * FROM audit WHERE seq > 12").fetchall())
        verdict = AuditLog(db).verify()
    finally:
        db.close()
    actions = [(r[4], r[7], r[8], r[9], r[10]) for r in records]
    assert actions == [
        ("call.start", "ok", None, "call-1", "session"),
        ("call.stage-failed", "failed", "llm-timeout", "call-1", "llm"),
        ("call.end", "ok", "failed", "call-1", "session"),
    ]
    assert records[0][1] == "2100-01-01T00:00:00.000000+00:00"  # UTC
    assert SECRET not in repr(records) and verdict.ok


def test_a_failed_write_leaves_no_audit_record(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    db = open_database(settings, MIGRATIONS)
    try:
        with pytest.raises(StoreError) as err:
            db.execute(CallRepository(db)._end_call, "never-started", 1.0, "ok")
        assert err.value.code == "store-unknown-call"
        assert AuditLog(db).verify().records == 12
    finally:
        db.close()


def verify_100k(tmp_path: Path) -> tuple[Verdict, float]:
    """Verify a chain of 100,000 records and one checkpoint: (verdict, s it took)."""
    db = Database.open(tmp_path / "big.db", "3c" * 32, MIGRATIONS)
    rows, prev = [], GENESIS
    for seq in range(1, 100_001):
        body = {**asdict(AuditRecord(seq, "2026-01-01T00:00:00.000000+00:00", "agent",
                "system", "call.start", "call", f"c{seq}", "ok", None, f"c{seq}",
                "session", prev, ""))}  # fmt: skip
        del body["hash"]
        prev = record_hash(body)
        rows.append((*body.values(), prev))
    db.execute(
        lambda c: c.executemany("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    )
    db.audit_signer = Ed25519PrivateKey.generate()
    AuditLog(db).checkpoint()
    start = time.perf_counter()
    verdict = AuditLog(db).verify()
    elapsed = time.perf_counter() - start
    db.close()
    return verdict, elapsed


def test_a_100k_record_chain_verifies(tmp_path: Path) -> None:
    verdict, _ = verify_100k(tmp_path)
    assert (verdict.ok, verdict.records, verdict.checkpoints) == (True, 100_000, 1)


@pytest.mark.perf
def test_verifying_100k_records_takes_under_10_s(tmp_path: Path) -> None:
    verdict, elapsed = verify_100k(tmp_path)
    assert verdict.ok
    print(f"verified 100,000 audit records in {elapsed:.2f} s")
    assert elapsed < 10.0, elapsed


async def test_showing_transcripts_is_an_audited_phi_read(tmp_path: Path) -> None:
    from appliance.cli.db import print_calls
    from appliance.config import load_settings
    from appliance.store.audit import read_records
    from appliance.store.bootstrap import open_database

    cfg = tmp_path / "a.toml"
    cfg.write_text(
        f'[store]\ndb_file = "{tmp_path}/a.db"\nkey_file = "{tmp_path}/db.key"\n'
        f'audit_key_file = "{tmp_path}/audit.key"\n'
    )
    settings = load_settings(cfg)
    db = open_database(settings, MIGRATIONS, create=True)
    repo = CallRepository(db)
    await repo.start_call("c-1", 1.0, "PCMU", "")
    await repo.add_turn("c-1", "caller", "my knee hurts", 1.0, 2.0, {})
    db.close()

    def phi_reads() -> list[str | None]:
        db = open_database(settings, MIGRATIONS)
        try:
            records = db.query(read_records)
        finally:
            db.close()
        return [r.object_id for r in records if r.action == "phi.read"]

    assert print_calls(settings, 10, show_text=False, as_json=True) == 0
    assert phi_reads() == []
    assert print_calls(settings, 10, show_text=True, as_json=True) == 0
    assert phi_reads() == ["c-1"]

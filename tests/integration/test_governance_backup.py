"""`appliance db backup` / `db restore`: encrypted copies, checked before use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlcipher3

from appliance.__main__ import main
from appliance.config import Settings
from appliance.errors import StoreError
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog
from appliance.store.backup import backup, restore, table_counts
from appliance.store.bootstrap import db_key, open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.integration.test_governance_audit import make_settings

pytestmark = pytest.mark.integration

SECRET = "Wilhelmina Okonkwo-Strand"


@pytest.fixture
async def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Settings, Path]]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    settings, config = make_settings(tmp_path)
    db = open_database(settings, MIGRATIONS, create=True)
    repo = CallRepository(db)
    for n in range(4):
        await repo.start_call(f"c{n}", 1000.0 + n, "PCMU", "h")
        await repo.add_turn(f"c{n}", "caller", SECRET, 1000.0, 1001.0, {})
        await repo.end_call(f"c{n}", 1002.0 + n, "completed")
    db.close()
    yield settings, config


def snapshot(settings: Settings, path: Path | None = None) -> tuple[dict[str, int], list[str]]:
    db = (
        open_database(settings, MIGRATIONS)
        if path is None
        else Database.open(path, db_key(settings).hex, MIGRATIONS)
    )
    try:
        counts = db.query(table_counts)
        hashes = db.query(
            lambda c: [r[0] for r in c.execute("SELECT hash FROM audit ORDER BY seq")]
        )
    finally:
        db.close()
    return counts, hashes


def test_backup_round_trip(setup: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, config = setup
    dest = tmp_path / "backups" / "b1.db"
    assert main(["--config", str(config), "db", "backup", str(dest)]) == 0
    live_counts, live_hashes = snapshot(settings)
    copy_counts, copy_hashes = snapshot(settings, dest)
    assert copy_counts == live_counts and copy_hashes == live_hashes  # incl. store.backup
    assert copy_counts["turns"] == 4 and (dest.stat().st_mode & 0o777) == 0o600
    assert SECRET.encode() not in dest.read_bytes()
    assert not dest.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(StoreError) as err:
        Database.open(dest, "99" * 32, MIGRATIONS)
    assert err.value.code == "store-bad-key"
    with pytest.raises(StoreError) as err:
        backup(settings, dest, MIGRATIONS)
    assert err.value.code == "store-backup-exists"

    db = open_database(settings, MIGRATIONS)  # changes after the backup
    db.execute(lambda c: c.execute("DELETE FROM turns"))
    db.close()
    assert main(["--config", str(config), "db", "restore", str(dest)]) == 0
    counts, hashes = snapshot(settings)
    assert counts["turns"] == 4 and hashes[: len(copy_hashes)] == copy_hashes
    db = open_database(settings, MIGRATIONS)
    try:
        verdict = AuditLog(db).verify()
        last = db.query(lambda c: c.execute("SELECT max(seq), action FROM audit").fetchone())
    finally:
        db.close()
    assert verdict.ok and last[1] == "store.restore"
    live = settings.path(settings.store.db_file)
    assert live.with_name(live.name + ".pre-restore").exists()


def test_a_backup_with_a_tampered_audit_log_is_not_restored(
    setup: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, _ = setup
    dest = tmp_path / "b2.db"
    backup(settings, dest, MIGRATIONS)
    conn = sqlcipher3.connect(str(dest), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{db_key(settings).hex}'\"")
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET outcome = 'denied' WHERE seq = 2")
    conn.close()
    before = snapshot(settings)
    with pytest.raises(StoreError) as err:
        restore(settings, dest, MIGRATIONS)
    assert err.value.code == "store-copy-audit-failed" and "record 2" in err.value.message
    assert snapshot(settings) == before  # the live store is untouched

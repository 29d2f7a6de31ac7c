"""A backup made before `appliance db rekey` still restores after one or more rotations:
the rotation keeps the retired key sealed (never in plaintext), and restore tries the
current key, then the previous ones, and says which one opened it (by key id only)."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.__main__ import main
from appliance.config import Settings
from appliance.errors import StoreError
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog
from appliance.store.backup import backup, restore, table_counts
from appliance.store.bootstrap import db_key, open_database, rekey
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.store.keyring import key_id, seal_previous
from appliance.store.keys import generate_key, write_key_file
from tests.integration.test_governance_audit import make_settings

pytestmark = pytest.mark.integration

SECRET = "Philippa Abernathy-Nakamura"


@pytest.fixture
async def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Settings, Path]]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    settings, config = make_settings(tmp_path)
    db = open_database(settings, MIGRATIONS, create=True)
    repo = CallRepository(db)
    for n in range(3):
        await repo.start_call(f"c{n}", 1000.0 + n, "PCMU", "h")
        await repo.add_turn(f"c{n}", "caller", f"{SECRET} {n}", 1000.0, 1001.0, {})
        await repo.end_call(f"c{n}", 1002.0 + n, "completed")
    db.close()
    yield settings, config


def key_dir_bytes(settings: Settings) -> bytes:
    folder = settings.path(settings.store.key_file).parent
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_a_backup_from_before_two_rotations_restores(
    setup: tuple[Settings, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, config = setup
    first = db_key(settings)
    dest = tmp_path / "backups" / "before-rotation.db"
    counts = backup(settings, dest, MIGRATIONS)
    assert main(["--config", str(config), "db", "rekey"]) == 0
    second = db_key(settings)
    rekey(settings, MIGRATIONS)
    current = db_key(settings)
    assert len({first.key, second.key, current.key}) == 3
    folder = settings.path(settings.store.key_file).parent
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("db.")) == [
        "db.key",
        "db.key.previous",
    ]
    ring = folder / "db.key.previous"
    assert stat.S_IMODE(ring.stat().st_mode) == 0o400
    stored = key_dir_bytes(settings)
    for retired in (first, second):  # sealed: neither as hex nor as raw bytes
        assert retired.hex.encode() not in stored and retired.key not in stored
    capsys.readouterr()

    assert main(["--config", str(config), "db", "restore", str(dest)]) == 0
    out = capsys.readouterr().out
    assert f"opened with the previous key {key_id(first.key)}" in out
    assert f"re-encrypted with the current key {key_id(current.key)}" in out
    assert first.hex not in out and current.hex not in out
    assert db_key(settings).key == current.key  # the key file is not changed by a restore
    db = open_database(settings, MIGRATIONS)
    try:
        texts = [t.text for n in range(3) for t in CallRepository(db).turns(f"c{n}")]
        restored = db.query(table_counts)
        verdict = AuditLog(db).verify()
        last = db.query(
            lambda c: c.execute(
                "SELECT action, object_id, reason_code FROM audit ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        )
        assert db.integrity_problems() == []
    finally:
        db.close()
    assert texts == [f"{SECRET} {n}" for n in range(3)]
    assert {k: v for k, v in restored.items() if k != "audit"} == {
        k: v for k, v in counts.items() if k != "audit"
    }
    assert verdict.ok, verdict.line()
    assert tuple(last) == ("store.restore", key_id(first.key), "previous-key")
    with pytest.raises(StoreError) as err:  # the restored store is under the current key
        Database.open(settings.path(settings.store.db_file), first.hex, MIGRATIONS)
    assert err.value.code == "store-bad-key"


def test_a_backup_under_an_unknown_key_is_refused(
    setup: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, _ = setup
    rekey(settings, MIGRATIONS)  # one previous key in the keyring: it does not open it either
    stranger = tmp_path / "stranger.db"
    db = open_database(settings, MIGRATIONS)
    try:
        db.export_to(stranger, generate_key().hex())
    finally:
        db.close()
    live = settings.path(settings.store.db_file)
    before = live.read_bytes()
    with pytest.raises(StoreError) as err:
        restore(settings, stranger, MIGRATIONS)
    assert err.value.code == "store-bad-key"
    assert "1 previous" in err.value.message
    assert live.read_bytes() == before  # the live store is untouched
    assert not live.with_name(live.name + ".pre-restore").exists()


def test_a_rotation_interrupted_after_the_rekey_keeps_the_retired_key_sealed(
    setup: tuple[Settings, Path], tmp_path: Path
) -> None:
    """Crash after PRAGMA rekey (the pending key and keyring were written first): the
    next open completes the swap, drops the plaintext `.old` because the keyring holds
    that key, and the backup made before still restores."""
    settings, _ = setup
    old, new = db_key(settings), generate_key()
    dest = tmp_path / "before.db"
    backup(settings, dest, MIGRATIONS)
    key_file = settings.path(settings.store.key_file)
    write_key_file(key_file.with_name("db.key.new"), new)
    seal_previous(key_file.with_name("db.key.previous.new"), new, [old.key])
    db = Database.open(settings.path(settings.store.db_file), old.hex, MIGRATIONS)
    db.rekey(new.hex())
    db.close()
    open_database(settings, MIGRATIONS).close()
    assert db_key(settings).key == new
    names = sorted(p.name for p in key_file.parent.iterdir() if p.name.startswith("db."))
    assert names == ["db.key", "db.key.previous"]
    done = restore(settings, dest, MIGRATIONS)
    assert (done.opened_by, done.previous, done.current) == (key_id(old.key), True, key_id(new))

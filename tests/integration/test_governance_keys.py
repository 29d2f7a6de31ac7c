"""Key handling, cipher checks, `appliance db check` and `appliance db rekey` on real SQLCipher."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from appliance.__main__ import main
from appliance.config import Settings
from appliance.errors import StoreError
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog
from appliance.store.bootstrap import db_key, open_database, rekey
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.store.keys import generate_key, write_key_file
from tests.integration.test_governance_audit import make_settings

pytestmark = pytest.mark.integration

SECRET = "Octavia Brennan-Mbeki"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Path]]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    settings, config = make_settings(tmp_path)
    db = open_database(settings, MIGRATIONS, create=True)
    db.execute(
        lambda c: c.execute(
            "INSERT INTO calls (call_id, started_at, codec, remote_hash)"
            " VALUES ('c1', 1, 'PCMU', 'h')"
        )
    )
    db.execute(
        lambda c: c.execute(
            "INSERT INTO turns (call_id, seq, speaker, text, started_at, ended_at, timings)"
            " VALUES ('c1', 1, 'caller', ?, 1, 2, '{}')",
            (SECRET,),
        )
    )
    db.close()
    yield settings, config


def db_path(settings: Settings) -> Path:
    return settings.path(settings.store.db_file)


def key_path(settings: Settings) -> Path:
    return settings.path(settings.store.key_file)


def test_keys_are_created_0400_and_separate(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    db_file, audit_file = key_path(settings), settings.path(settings.store.audit_key_file)
    assert stat.S_IMODE(db_file.stat().st_mode) == 0o400
    assert stat.S_IMODE(audit_file.stat().st_mode) == 0o400
    assert db_file.read_text() != audit_file.read_text()


def test_a_weaker_cipher_configuration_is_refused(tmp_path: Path) -> None:
    """SQLCipher 3 compatibility (SHA1, 64k iterations) set process-wide is caught at open."""
    probe = sqlcipher3.connect(":memory:")
    probe.execute("PRAGMA cipher_default_compatibility = 3")
    try:
        with pytest.raises(StoreError) as err:
            Database.open(tmp_path / "weak.db", "11" * 32, MIGRATIONS)
        assert err.value.code == "store-weak-cipher"
    finally:
        probe.execute("PRAGMA cipher_default_compatibility = 4")
        probe.close()
    Database.open(tmp_path / "strong.db", "11" * 32, MIGRATIONS).close()


def test_db_check_is_clean_then_catches_a_damaged_page(
    setup: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, config = setup
    assert main(["--config", str(config), "db", "check"]) == 0
    out = capsys.readouterr().out
    assert "cipher 4." in out and "kdf_iter=256000" in out and "db OK" in out
    data = bytearray(db_path(settings).read_bytes())
    assert len(data) >= 3 * 4096
    data[2 * 4096 + 100 : 2 * 4096 + 110] = b"\xff" * 10  # inside page 3
    db_path(settings).write_bytes(bytes(data))
    assert main(["--config", str(config), "db", "check"]) != 0


def test_rekey_rotates_the_key_and_keeps_every_row(
    setup: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, config = setup
    old = db_key(settings)
    assert main(["--config", str(config), "db", "rekey"]) == 0
    new = db_key(settings)
    assert new.key != old.key and stat.S_IMODE(key_path(settings).stat().st_mode) == 0o400
    leftovers = sorted(
        p.name for p in key_path(settings).parent.iterdir() if p.name.startswith("db.")
    )  # .new installed, .old removed once verified; the old key sealed in .previous
    assert leftovers == ["db.key", "db.key.previous"]
    with pytest.raises(StoreError) as err:
        Database.open(db_path(settings), old.hex, MIGRATIONS)
    assert err.value.code == "store-bad-key"
    db = open_database(settings, MIGRATIONS)
    try:
        assert [t.text for t in CallRepository(db).turns("c1")] == [SECRET]
        assert db.integrity_problems() == []
        verdict = AuditLog(db).verify()
        actions = db.query(lambda c: [r[0] for r in c.execute("SELECT action FROM audit")])
    finally:
        db.close()
    assert verdict.ok and actions == ["store.rekey"]
    assert SECRET.encode() not in db_path(settings).read_bytes()
    assert main(["--config", str(config), "db", "check"]) == 0


def test_an_interrupted_rekey_is_completed_at_the_next_open(setup: tuple[Settings, Path]) -> None:
    """Crash after PRAGMA rekey, before the key file was replaced: the pending key wins."""
    settings, _ = setup
    old = db_key(settings)
    new = generate_key()
    pending = key_path(settings).with_name("db.key.new")
    write_key_file(pending, new)
    db = Database.open(db_path(settings), old.hex, MIGRATIONS)
    db.rekey(new.hex())
    db.close()
    db = open_database(settings, MIGRATIONS)
    try:
        assert [t.text for t in CallRepository(db).turns("c1")] == [SECRET]
        assert AuditLog(db).verify().ok
    finally:
        db.close()
    assert db_key(settings).key == new and not pending.exists()
    old_copy = key_path(settings).with_name("db.key.old")
    assert stat.S_IMODE(old_copy.stat().st_mode) == 0o400


def test_rekey_refuses_a_systemd_credential(
    setup: tuple[Settings, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, config = setup
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "db.key").write_bytes(key_path(settings).read_bytes())
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    with pytest.raises(StoreError) as err:
        rekey(settings, MIGRATIONS)
    assert err.value.code == "store-rekey-credential"
    assert main(["--config", str(config), "db", "check"]) == 0  # the credential opens it


def test_a_missing_key_is_a_coded_error_not_a_new_key(
    setup: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, config = setup
    key_path(settings).unlink()
    assert main(["--config", str(config), "db", "check"]) == 2
    assert "key-missing" in capsys.readouterr().err
    assert not key_path(settings).exists()

"""One audit signing key for every process that writes audit records.

Whichever process appends record N x `audit_checkpoint_every` signs that checkpoint, so
the agent workers and the admin app must sign with the same key: each unit that opens
the store loads the `audit-signing.key` credential, and under systemd a missing one stops
the unit instead of making a key of its own.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.__main__ import main
from appliance.config import load_settings
from appliance.errors import ConfigError
from appliance.isolation.units import UNITS_DIR, parse_unit
from appliance.services.app_db import open_store
from tests.conftest import REPO, store_config

pytestmark = pytest.mark.integration

STORE_COMMANDS = {"agent", "admin", "run"}  # `appliance <command>`s that open the store
STORE_CREDENTIALS = {"db.key", "audit-signing.key"}
ROLE_DEFAULTS = REPO / "ansible" / "roles" / "appliance" / "defaults" / "main.yml"

WRITER = """
import sys
from pathlib import Path
from appliance.config import load_settings
from appliance.services.app_db import open_store
from appliance.store.audit import AuditEvent, AuditLog
db, _ = open_store(load_settings(Path(sys.argv[1])))
try:
    for _ in range(int(sys.argv[2])):
        AuditLog(db).append(AuditEvent(sys.argv[3], "system", "test.write"))
finally:
    db.close()
"""


def store_units() -> dict[str, set[str]]:
    """Each shipped unit that runs a store-opening command -> the credentials it loads."""
    units: dict[str, set[str]] = {}
    for path in sorted(UNITS_DIR.glob("*.service")):
        unit = parse_unit(path)
        words = (unit.last("ExecStart") or "").split()
        if not words or not words[0].endswith("/appliance") or "--config" not in words:
            continue
        if words[words.index("--config") + 2] in STORE_COMMANDS:
            loaded = unit.settings.get("LoadCredentialEncrypted", ())
            units[path.name] = {value.partition(":")[0] for value in loaded}
    return units


def test_every_unit_that_opens_the_store_loads_the_signing_key() -> None:
    units = store_units()
    assert {"appliance-agent@.service", "appliance-admin.service"} <= set(units)
    for name, credentials in units.items():
        assert credentials >= STORE_CREDENTIALS, f"{name} lacks {STORE_CREDENTIALS - credentials}"
    sealed = ROLE_DEFAULTS.read_text("utf-8")  # the credentials ansible seals at provisioning
    assert all(f"  - {name}\n" in sealed for name in STORE_CREDENTIALS)


def credentials_dirs(tmp: Path) -> dict[str, Path]:
    """One sealed credential store; per unit, the folder systemd fills from its lines."""
    store = {name: secrets.token_hex(32) for name in ("db.key", "audit-signing.key", "llm.key")}
    dirs: dict[str, Path] = {}
    for unit, loaded in store_units().items():
        folder = tmp / "credentials" / unit
        folder.mkdir(parents=True, mode=0o700)
        for name in loaded & set(store):
            (folder / name).write_text(store[name])
            (folder / name).chmod(0o400)
        dirs[unit] = folder
    return dirs


def test_agent_and_admin_sign_checkpoints_with_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    config = store_config(tmp_path, "audit_checkpoint_every = 10")
    dirs = credentials_dirs(tmp_path)
    writers = []
    for unit, actor in (("appliance-agent@.service", "agent"), ("appliance-admin.service", "ad")):
        env = {**os.environ, "CREDENTIALS_DIRECTORY": str(dirs[unit])}
        args = [sys.executable, "-c", WRITER, str(config), "120", actor]
        writers.append(subprocess.Popen(args, cwd=REPO, env=env, stderr=subprocess.PIPE))
    for writer in writers:  # both write at once: past many signed checkpoints (240+)
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    assert not (tmp_path / "keys").exists()  # no process made a key of its own

    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(dirs["appliance-admin.service"]))
    assert main(["--config", str(config), "audit", "verify"]) == 0
    backup = tmp_path / "backups" / "b1.db"
    assert main(["--config", str(config), "db", "backup", str(backup)]) == 0
    assert main(["--config", str(config), "db", "restore", str(backup)]) == 0
    assert main(["--config", str(config), "audit", "verify"]) == 0


def test_a_unit_without_the_signing_credential_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = store_config(tmp_path)
    creds = tmp_path / "credentials"
    creds.mkdir(mode=0o700)
    (creds / "db.key").write_text(secrets.token_hex(32))  # as the agent unit used to load
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    with pytest.raises(ConfigError) as err:
        open_store(load_settings(config))
    assert err.value.code == "key-credential-missing"
    assert not (tmp_path / "keys" / "audit-signing.key").exists()

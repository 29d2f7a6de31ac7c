"""Config changes in the audit log: `config.loaded` with the settings' hash at every
start, `config.changed` (old -> new hash, changed sections) when it differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import Settings, load_settings
from appliance.governance.config_audit import config_hash
from appliance.services.app_db import open_store
from appliance.store.audit import AuditLog
from tests.conftest import store_config

pytestmark = pytest.mark.integration


def write_config(tmp: Path, extra: str = "") -> Settings:
    return load_settings(store_config(tmp, extra))


def start(settings: Settings) -> list[tuple[str, str, str]]:
    """One process start (open_store), then the config records so far."""
    db, _ = open_store(settings)
    try:
        assert AuditLog(db).verify().ok
        return db.query(
            lambda c: [
                (str(r[0]), str(r[1]), str(r[2]))
                for r in c.execute(
                    "SELECT action, object_id, reason_code FROM audit"
                    " WHERE action LIKE 'config.%' ORDER BY seq"
                )
            ]
        )
    finally:
        db.close()


def test_config_loaded_and_changed_are_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    first = write_config(tmp_path)
    h1 = config_hash(first)
    assert len(h1) == 64 and config_hash(write_config(tmp_path)) == h1  # canonical
    records = start(first)
    assert [(a, o) for a, o, _ in records] == [("config.loaded", h1)]
    assert records[0][2].startswith("sections=") and "llm:" in records[0][2]
    assert [(a, o) for a, o, _ in start(first)] == [("config.loaded", h1)] * 2  # unchanged

    changed = write_config(tmp_path, "audit_checkpoint_every = 7\n[llm]\ntimeout_s = 3.5\n")
    h2 = config_hash(changed)
    assert h2 != h1
    records = start(changed)
    assert records[2:] == [
        ("config.changed", f"{h1}->{h2}", "sections=llm,store"),
        ("config.loaded", h2, records[3][2]),
    ]
    back = start(first)  # and back again: only the store and llm sections differ
    assert back[4] == ("config.changed", f"{h2}->{h1}", "sections=llm,store")
    keys = [(tmp_path / "keys" / name).read_text().strip() for name in ("db.key",)]
    assert not any(k in str(back) for k in keys)  # credentials are files, never hashed in

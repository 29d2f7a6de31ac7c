"""Audit anchors (issue 15 finding 8): the running appliance exports signed checkpoints to
a place it cannot rewrite, and `appliance audit verify` checks the live chain against
them without being told where they are, so a deleted tail is found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from appliance.__main__ import main
from appliance.config import Settings, load_settings
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditEvent, AuditLog
from appliance.store.bootstrap import db_key, open_database
from tests.conftest import store_config

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Path]]:
    """A real SQCipher store with 12 audit records (checkpoints every 5)."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    config = store_config(tmp_path, "audit_checkpoint_every = 5")
    settings = load_settings(config)
    append(settings, 12)
    yield settings, config


def append(settings: Settings, n: int) -> None:
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        log = AuditLog(db)
        for i in range(n):
            log.append(AuditEvent("tester", "operator", f"test.action-{i}", object_id=str(i)))
    finally:
        db.close()


def raw(settings: Settings) -> Any:
    """A raw connection with the database key, as an attacker holding it would have."""
    conn = sqlcipher3.connect(str(settings.path(settings.store.db_file)), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{db_key(settings).hex}'\"")
    for trigger in ("audit_no_update", "audit_no_delete", "audit_checkpoints_no_delete"):
        conn.execute(f"DROP TRIGGER {trigger}")
    return conn


def truncate(settings: Settings, after: int) -> None:
    conn = raw(settings)
    conn.execute("DELETE FROM audit WHERE seq > ?", (after,))
    conn.execute("DELETE FROM audit_checkpoints WHERE seq > ?", (after,))
    conn.close()


def test_verify_finds_a_deleted_tail_without_being_given_an_anchor(
    store: tuple[Settings, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tail (with its checkpoints) deleted after an export: `audit verify` with no
    --anchor reads the anchor the export left in the configured file and fails."""
    settings, config = store
    assert main(["--config", str(config), "audit", "export", "--out", str(tmp_path / "ex")]) == 0
    truncate(settings, after=8)
    capsys.readouterr()
    code = main(["--config", str(config), "audit", "verify"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "audit FAILED at record 9 (audit-truncated)" in err
    assert "exported anchor at 13" in err

"""Retention: `appliance db purge` removes old transcript text, keeps metadata, is audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.__main__ import main
from appliance.errors import StoreError
from appliance.governance.retention import DAY_S, purge_transcripts
from appliance.store.audit import AuditLog
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository
from tests.integration.test_governance_audit import make_settings

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0
OLD_TEXT = "Ignatius Fairweather-Oyelaran, 12 March 1950"
NEW_TEXT = "Seraphina Lindqvist-Achebe"


async def test_purge_removes_only_old_text_and_records_an_audit_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    settings, _ = make_settings(tmp_path)
    db = open_database(settings, create=True)
    repo = CallRepository(db)
    old_t, new_t = NOW - 40 * DAY_S, NOW - 2 * DAY_S
    await repo.start_call("old", old_t, "PCMU", "h")
    await repo.add_turn("old", "caller", OLD_TEXT, old_t, old_t + 2, {"stt_done": 0.3})
    await repo.add_turn("old", "agent", "Thank you.", old_t + 3, old_t + 4, {})
    await repo.end_call("old", old_t + 5, "completed")
    await repo.start_call("new", new_t, "G722", "h")
    await repo.add_turn("new", "caller", NEW_TEXT, new_t, new_t + 2, {})
    try:
        assert purge_transcripts(db, 30, now=NOW) == 2
        assert purge_transcripts(db, 30, now=NOW) == 0  # idempotent
        old_turns, new_turns = repo.turns("old"), repo.turns("new")
        calls = {c.call_id: c for c in repo.list_calls()}
        purged_at = db.query(lambda c: c.execute("SELECT purged_at FROM turns").fetchall())
        audit = db.query(
            lambda c: c.execute(
                "SELECT action, object_id, reason_code FROM audit"
                " WHERE action = 'retention.purge' ORDER BY seq"
            ).fetchall()
        )
        assert AuditLog(db).verify().ok
        with pytest.raises(StoreError) as err:
            purge_transcripts(db, 0)
        assert err.value.code == "retention-bad-days"
    finally:
        db.close()
    assert [t.text for t in old_turns] == ["", ""]
    assert old_turns[0].timings == {"stt_done": 0.3} and old_turns[0].speaker == "caller"
    assert [t.text for t in new_turns] == [NEW_TEXT]
    assert calls["old"].turn_count == 2 and calls["old"].outcome == "completed"
    assert sorted(p[0] is not None for p in purged_at) == [False, True, True]
    assert audit == [
        ("retention.purge", "2", "older-than-30d"),
        ("retention.purge", "0", "older-than-30d"),
    ]


async def test_cli_purge_uses_the_configured_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    settings, config = make_settings(tmp_path)
    assert settings.store.transcript_retention_days == 90
    db = open_database(settings, create=True)
    repo = CallRepository(db)
    await repo.start_call("c", 1000.0, "PCMU", "h")
    await repo.add_turn("c", "caller", OLD_TEXT, 1000.0, 1001.0, {})
    db.close()
    assert main(["--config", str(config), "db", "purge"]) == 0
    assert "purged the text of 1 turns older than 90 days" in capsys.readouterr().out
    db = open_database(settings)
    try:
        assert [t.text for t in CallRepository(db).turns("c")] == [""]
    finally:
        db.close()

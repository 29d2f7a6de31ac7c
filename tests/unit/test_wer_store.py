"""WER in the real SQLCipher store: runs, reviewers' corrections (audited, purged with
their turn's text), the week's WER of `appliance quality correct | wer`, and the gauges
the admin exports."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from appliance.cli.main import main
from appliance.cli.wer import run_correct, run_week
from appliance.errors import ApplianceError
from appliance.governance.retention import RetentionPolicy, purge
from appliance.quality.wer import LineScore, summarise
from appliance.quality.wer_metrics import WerBoard
from appliance.quality.wer_store import (
    WER_MIGRATION,
    corrected_turns,
    insert_run,
    latest_run,
    store_correction,
    week_bounds,
)
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.conftest import store_config

pytestmark = pytest.mark.unit

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()  # 2026-W49
HEARD = "my name is marie gonzalez born april 4 1982"
SAID = "My name is Maria Gonzalez, born April 4th, 1982."


@pytest.fixture
def db(tmp_path: Path):
    assert WER_MIGRATION in MIGRATIONS
    database = Database.open(tmp_path / "calls.db", "ab" * 32, MIGRATIONS)
    yield database
    database.close()


async def a_call(db: Database, call_id: str, at: float, heard: list[str]) -> None:
    """A call whose caller turns the STT heard as `heard` (seq 1, 3, 5...; agent 2, 4...)."""
    repo = CallRepository(db)
    await repo.start_call(call_id, at, "pcmu", "hash")
    for i, text in enumerate(heard):
        t = at + 10 * i
        await repo.add_turn(call_id, "caller", text, t, t + 2, {})
        await repo.add_turn(call_id, "agent", "Thank you.", t + 3, t + 4, {})
    await repo.end_call(call_id, at + 10 * len(heard), "completed")


async def test_a_correction_is_stored_audited_and_scored_in_its_week(db: Database) -> None:
    await a_call(db, "call-1", MONDAY, [HEARD, "i'd like to cancel"])
    store_correction(db, "call-1", 1, SAID, "rita")
    store_correction(db, "call-1", 1, SAID + " ", "rita")  # again: the latest counts
    store_correction(db, "call-1", 3, "I'd like to cancel.", "sam")  # confirms it
    turns = db.query(corrected_turns, *week_bounds("2026-W49"))
    assert [(t.seq, t.corrected) for t in turns] == [(1, SAID), (3, "I'd like to cancel.")]
    assert db.query(corrected_turns, *week_bounds("2026-W50")) == []
    records = [r for r in db.query(read_records) if r.object_type == "turn"]
    assert [(r.action, r.actor, r.object_id) for r in records[:2]] == [
        ("phi.read", "rita", "call-1:1"),
        ("phi.write", "rita", "call-1:1"),
    ]
    assert len(records) == 6 and all(r.actor_role == "quality-reviewer" for r in records)
    assert "Maria" not in str(records) and "cancel" not in str(records)


async def test_only_caller_turns_that_exist_and_kept_their_text(db: Database) -> None:
    await a_call(db, "call-1", MONDAY, [HEARD])
    for seq, text, code in [
        (9, "x", "quality-no-turn"),
        (2, "Thank you.", "quality-not-caller-turn"),
        (1, "  ", "quality-empty-correction"),
    ]:
        with pytest.raises(ApplianceError) as caught:
            store_correction(db, "call-1", seq, text, "rita")
        assert caught.value.code == code
    assert db.query(lambda c: c.execute("SELECT count(*) FROM audit WHERE object_type = 'turn'")
                    .fetchone()[0]) == 0  # fmt: skip


async def test_the_retention_purge_takes_the_corrections_with_the_turn_text(
    db: Database,
) -> None:
    await a_call(db, "old", MONDAY, [HEARD])
    await a_call(db, "new", MONDAY + 20 * 86400, [HEARD])
    store_correction(db, "old", 1, SAID, "rita")
    store_correction(db, "new", 1, SAID, "rita")
    policy = RetentionPolicy(14, 30, 30, 365, 3650)
    purge(db, policy, now=MONDAY + 21 * 86400, clock_checked=True, vacuum=False)
    left = db.query(lambda c: c.execute("SELECT call_id FROM transcript_corrections").fetchall())
    assert [r[0] for r in left] == ["new"]
    with pytest.raises(ApplianceError) as caught:
        store_correction(db, "old", 1, SAID, "rita")
    assert caught.value.code == "quality-turn-purged"
    purge(db, policy, now=MONDAY + 400 * 86400, clock_checked=True, vacuum=False)  # calls go
    assert db.query(lambda c: c.execute("SELECT count(*) FROM transcript_corrections")
                    .fetchone()[0]) == 0  # fmt: skip


async def test_the_weeks_wer_has_n_an_interval_and_is_stored(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_call(db, "call-1", MONDAY, [HEARD, "i'd like to cancel", "on tuesday please"])
    await a_call(db, "call-2", MONDAY + 86400, ["yes that's right", "goodbye"])
    assert run_correct(db, "call-1", 1, SAID, "rita") == 0
    printed = capsys.readouterr().out
    assert "1 word errors of 12" in printed and HEARD not in printed  # no PHI unless asked
    for call_id, seq, text in [
        ("call-1", 3, "I'd like to cancel."),
        ("call-1", 5, "On Tuesday, please."),
        ("call-2", 1, "Yes, that's right."),
        ("call-2", 3, "Goodbye."),
    ]:
        run_correct(db, call_id, seq, text, "rita")
    capsys.readouterr()
    assert run_week(db, "2026-w49", as_json=True) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["week"] == "2026-W49" and out["samples"] == 5
    assert out["errors"] == 1 and out["ref_words"] == 12 + 4 + 3 + 3 + 1
    # maria gonzalez (misheard), april 4 1982, tuesday
    assert out["entities"] == 3 and out["entity_errors"] == 1
    assert 0 <= out["ci_low"] <= out["wer"] <= out["ci_high"]
    run = db.query(latest_run, "corrections")
    assert run is not None and run.period == "2026-W49" and run.summary.samples == 5
    assert "Maria" not in json.dumps(run.config)
    with pytest.raises(ApplianceError) as caught:
        run_week(db, "2026-W50", as_json=False)
    assert caught.value.code == "quality-no-corrections"
    with pytest.raises(ApplianceError) as caught:
        run_week(db, "2026-49", as_json=False)
    assert caught.value.code == "quality-bad-week"


async def test_the_gauges_per_source_and_none_without_a_measure(db: Database) -> None:
    now = MONDAY + 86400
    board = WerBoard(db, clock=lambda: now)
    registry = CollectorRegistry()
    registry.register(board)
    board.refresh()
    assert b"appliance_wer_ratio{" not in generate_latest(registry)  # nothing measured yet
    await a_call(db, "call-1", MONDAY, [HEARD])
    store_correction(db, "call-1", 1, SAID, "rita")
    golden = summarise([LineScore(10, 1, 0, 0, 2, 1), LineScore(10, 0, 1, 0, 2, 0)])
    db.execute(insert_run, "synthetic", golden, {"label": "synthetic"}, None, now - 60)
    board.refresh()
    text = generate_latest(registry).decode()
    assert 'appliance_wer_ratio{source="synthetic"} 0.1' in text
    assert 'appliance_wer_samples{source="synthetic"} 2.0' in text
    assert 'appliance_wer_ratio{source="corrections"} 0.0833' in text
    assert 'appliance_wer_samples{source="corrections"} 1.0' in text
    assert 'appliance_wer_entity_error_ratio{source="synthetic"} 0.25' in text
    assert "call-1" not in text and "maria" not in text.lower()
    later = WerBoard(db, clock=lambda: now + 8 * 86400)  # the correction left the window
    assert set(later.refresh()) == {"synthetic"}


def test_the_cli_registers_the_wer_commands_under_quality(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path)
    from appliance.config import load_settings
    from appliance.services.app_db import open_store

    store, _ = open_store(load_settings(config))
    store.close()
    assert main(["--config", str(config), "quality", "wer", "--week", "2026-W49"]) == 2
    assert "quality-no-corrections" in capsys.readouterr().err
    code = main(["--config", str(config), "quality", "correct", "nope", "1", "--text", "hi"])
    assert code == 2 and "quality-no-turn" in capsys.readouterr().err
    assert main(["--config", str(config), "quality", "scores", "--since", "1h"]) == 0


async def test_the_admin_job_puts_the_gauges_on_metrics_and_stops(db: Database) -> None:
    from appliance.observability.metrics import Metrics
    from appliance.quality.wer_metrics import wer_job

    golden = summarise([LineScore(10, 1, 0, 0, 2, 1), LineScore(10, 0, 0, 0, 2, 0)])
    db.execute(insert_run, "synthetic", golden, {"label": "synthetic"})
    metrics, stop = Metrics(), asyncio.Event()
    job = asyncio.create_task(wer_job(db, metrics, stop))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if b'appliance_wer_ratio{source="synthetic"} 0.05' in generate_latest(metrics.registry):
            break
    else:
        pytest.fail("the WER gauge never reached /metrics")
    stop.set()
    await asyncio.wait_for(job, 5)

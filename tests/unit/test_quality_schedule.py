"""The weekly schedule on a virtual clock: once per ISO week after its slot, caught up
after downtime, not repeated after a restart (the record under var), retried after a
failure; and the digest job writing last week's HTML and PDF from a real store."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.errors import ApplianceError
from appliance.quality import schedule_jobs
from appliance.quality.schedule import (
    DEFERRED,
    Action,
    Weekly,
    WeeklyRunner,
    due,
    follow_schedule,
    iso_week,
    latest_slot,
)
from appliance.quality.schedule_jobs import digest_action, digest_dir, schedule_job, wer_action
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.unit.test_quality_kpi_more import COST_MODEL, T0
from tests.unit.test_quality_kpi_more import db as db

pytestmark = pytest.mark.unit

HOUR = 3600.0
DIGEST = Weekly("digest", 1, 6)  # Mondays 06:00 UTC


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_latest_slot_and_what_is_due() -> None:
    monday_6 = at("2026-12-07T06:00:00")  # 2026-W50
    assert latest_slot(DIGEST, monday_6) == monday_6
    assert latest_slot(DIGEST, monday_6 - 1) == monday_6 - 7 * 86400  # before it: last week's
    assert latest_slot(DIGEST, at("2026-12-13T23:59:00")) == monday_6  # Sunday, same week
    assert iso_week(monday_6) == "2026-W50"
    assert due(DIGEST, monday_6 + HOUR, "2026-W49") == monday_6
    assert due(DIGEST, monday_6 + HOUR, "2026-W50") is None
    assert due(Weekly("wer", 7, 2), at("2026-12-13T02:00:00"), None) == at("2026-12-13T02:00:00")


def runner_with(
    tmp_path: Path, clock: Clock, fail: list[bool] | None = None
) -> tuple[WeeklyRunner, list[str]]:
    runs: list[str] = []

    async def action(slot: float) -> None:
        if fail and fail.pop(0):
            raise ApplianceError("quality-job-failed", "exit status 1")
        runs.append(iso_week(slot))

    return WeeklyRunner([(DIGEST, action)], tmp_path / "quality", clock), runs


async def test_once_per_week_after_its_slot_and_not_again_after_a_restart(tmp_path: Path) -> None:
    clock = Clock(at("2026-12-07T05:59:00"))
    runner, runs = runner_with(tmp_path, clock)
    # before this week's slot the latest is last week's, which never ran: caught up now
    assert await runner.refresh_async() == ["digest"] and runs == ["2026-W49"]
    clock.now = at("2026-12-07T06:10:00")
    assert await runner.refresh_async() == ["digest"] and runs[-1] == "2026-W50"
    for hours in (1, 30, 100):
        clock.now = at("2026-12-07T06:10:00") + hours * HOUR
        assert await runner.refresh_async() == []
    restarted, again = runner_with(tmp_path, clock)  # a new process, the same var
    assert await restarted.refresh_async() == [] and again == []
    assert runner.last_week(DIGEST) == "2026-W50"
    clock.now = at("2026-12-14T06:00:00")  # next Monday's slot
    assert await restarted.refresh_async() == ["digest"] and again == ["2026-W51"]


async def test_downtime_is_caught_up_once_for_the_latest_slot(tmp_path: Path) -> None:
    clock = Clock(at("2026-12-07T07:00:00"))
    runner, runs = runner_with(tmp_path, clock)
    await runner.refresh_async()
    clock.now = at("2027-01-05T03:00:00")  # down for four weeks, back on a Tuesday
    assert await runner.refresh_async() == ["digest"]
    assert await runner.refresh_async() == []
    assert runs == ["2026-W50", "2027-W01"]
    clock.now = at("2027-01-18T05:00:00")  # down over Monday 11th's slot, back before
    assert await runner.refresh_async() == ["digest"]  # the 18th's: the missed one runs
    assert runs[-1] == "2027-W02"


async def test_a_failed_run_is_not_recorded_and_runs_at_the_next_check(tmp_path: Path) -> None:
    clock = Clock(at("2026-12-07T07:00:00"))
    runner, runs = runner_with(tmp_path, clock, fail=[True, False])
    assert await runner.refresh_async() == [] and runs == []
    assert not runner.record_path(DIGEST).exists()
    assert await runner.refresh_async() == ["digest"] and runs == ["2026-W50"]


async def test_the_digest_job_writes_last_weeks_html_and_pdf(db: Database, tmp_path: Path) -> None:
    week = iso_week(T0)
    monday_after = latest_slot(DIGEST, T0 + 7 * 86400)
    make = digest_action(db, tmp_path / "digests", COST_MODEL)
    await make(monday_after)
    page = tmp_path / "digests" / f"digest-{week}.html"
    assert page.exists() and (tmp_path / "digests" / f"digest-{week}.pdf").stat().st_size > 1000
    # the seeded calls and "yesterday" (booked, contained) all fall in that week
    assert "80.0% (4 of 5 in-scope calls)" in page.read_text("utf-8")


async def test_the_settings_place_and_switch_the_jobs(db: Database, tmp_path: Path) -> None:
    config = tmp_path / "a.toml"
    config.write_text(f'[paths]\nvar_dir = "{tmp_path}/var"\n[quality]\nschedules = false\n')
    settings = load_settings(config)
    assert digest_dir(settings) == tmp_path / "var" / "digests"
    stop = asyncio.Event()
    await asyncio.wait_for(schedule_job(settings, db, stop, config), 5)  # off: returns
    assert not (tmp_path / "var" / "quality").exists()


async def test_the_first_check_waits_after_start_up(tmp_path: Path) -> None:
    """A start never competes with a catch-up run: nothing runs before `first_after_s`."""
    runner, runs = runner_with(tmp_path, Clock(at("2026-12-07T07:00:00")))
    stop = asyncio.Event()
    task = asyncio.create_task(follow_schedule(runner, stop, every_s=60, first_after_s=0.5))
    await asyncio.sleep(0.1)
    assert runs == []  # still waiting
    stop.set()
    await asyncio.wait_for(task, 5)
    assert runs == []  # stopped before the first check: nothing ran
    stop = asyncio.Event()
    task = asyncio.create_task(follow_schedule(runner, stop, every_s=60, first_after_s=0.05))
    for _ in range(100):
        if runs:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert runs == ["2026-W50"]


async def test_the_golden_set_waits_while_a_call_is_in_progress(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Deferred (not failed, not recorded) while a call is open; run once none is."""
    marker = tmp_path / "ran"
    now = time.time()
    await CallRepository(db).start_call("live", now, "PCMU", "h")
    wer = wer_action(db, None)
    argv = [
        sys.executable,
        "-c",
        f"import os, pathlib; pathlib.Path({str(marker)!r}).write_text(str(os.nice(0)))",
    ]
    runner = WeeklyRunner(
        [(Weekly("wer-golden", 7, 2), lambda slot: _patched(wer, argv, slot))], tmp_path / "q"
    )
    with caplog.at_level("INFO"):
        assert await runner.refresh_async() == []
    assert not marker.exists() and not runner.record_path(Weekly("wer-golden", 7, 2)).exists()
    assert [r.levelname for r in caplog.records if getattr(r, "code", "") == DEFERRED] == ["INFO"]
    await db.run(
        lambda c: c.execute("UPDATE calls SET ended_at = ? WHERE call_id = 'live'", (now,))
    )
    assert await runner.refresh_async() == ["wer-golden"]
    assert marker.read_text() == "19"  # the child ran at the lowest CPU priority


async def _patched(action: Action, argv: list[str], slot: float) -> None:
    """Run `action` with its child command replaced by `argv` (a quick stand-in)."""
    with pytest.MonkeyPatch.context() as mp:
        real = schedule_jobs.run_command
        mp.setattr(schedule_jobs, "run_command", lambda _argv, timeout: real(argv, timeout))
        await action(slot)

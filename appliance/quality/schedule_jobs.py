"""The admin's weekly jobs (appliance/quality/schedule.py) as the settings configure them:
the digest of the previous ISO week into `[quality] digest_dir` (default <var>/digests)
and the WER golden-set run, a child `appliance quality wer-golden` (it stores its run)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from appliance.config import Settings
from appliance.config_quality import QualityCost
from appliance.errors import ApplianceError
from appliance.quality.digest import build_digest
from appliance.quality.digest_report import week_window, write_week
from appliance.quality.judge_job import OPEN_CALL_WINDOW_S, calls_in_progress
from appliance.quality.schedule import (
    DEFERRED,
    Action,
    Weekly,
    WeeklyRunner,
    follow_schedule,
    previous_week,
    run_command,
)
from appliance.store.db import Database

WER_TIMEOUT_S = 3600.0  # the golden set through TTS and STT on the CPU: minutes


def digest_dir(settings: Settings) -> Path:
    q = settings.quality
    return settings.path(q.digest_dir) if q.digest_dir else settings.var_dir / "digests"


def digest_action(db: Database, folder: Path, cost: QualityCost | None) -> Action:
    async def make(slot: float) -> None:
        week = previous_week(slot)
        digest = await db.run_query(build_digest, *week_window(week), cost)
        await asyncio.to_thread(write_week, digest, week, folder)

    return make


def wer_action(db: Database, config: Path | None) -> Action:
    """The golden set in a child process, started only while no call is in progress (it
    loads the speech models and keeps the CPU busy for minutes); otherwise deferred to
    the next check."""
    argv = [sys.executable, "-m", "appliance"]
    argv += ["--config", str(config)] if config is not None else []
    argv += ["quality", "wer-golden"]

    async def run(_: float) -> None:
        if await db.run_query(calls_in_progress, time.time() - OPEN_CALL_WINDOW_S):
            raise ApplianceError(DEFERRED, "a call is in progress")
        await run_command(argv, WER_TIMEOUT_S)

    return run


def weekly_runner(settings: Settings, db: Database, config: Path | None) -> WeeklyRunner:
    q = settings.quality
    jobs = [
        (Weekly("digest", q.digest_weekday, q.digest_hour),
         digest_action(db, digest_dir(settings), q.cost)),
        (Weekly("wer-golden", q.wer_weekday, q.wer_hour), wer_action(db, config)),
    ]  # fmt: skip
    return WeeklyRunner(jobs, settings.var_dir / "quality")


async def schedule_job(
    settings: Settings, db: Database, stop: asyncio.Event, config: Path | None
) -> None:
    """The weekly jobs until `stop` ([quality] schedules = false: none)."""
    if settings.quality.schedules:
        await follow_schedule(weekly_runner(settings, db, config), stop)

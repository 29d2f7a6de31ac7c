"""Weekly jobs of the admin process (the admin unit, or `appliance run`): the previous
ISO week's digest as HTML + PDF into `[quality] digest_dir`, and the WER golden-set run
(`appliance quality wer-golden`, a child process: the speech models stay out of the
admin). docs/quality.md, "Schedules".

Each job has a slot per ISO week: its weekday and hour (UTC). A job is due when the latest
slot at or before now belongs to an ISO week it has not run for; so it runs once per
week, at the first check after its slot, and after downtime at the first check after
start-up (once, for the latest slot: the weeks missed before it are not made up). What
ran is recorded after it succeeded, in <var>/quality/schedule-<job>.json (week and time,
written atomically), so that a restart does not repeat it; a failed run is logged by its
code and tried again at the next check. Checks are every CHECK_S, through the admin's
refresh loop (quality.refresh.follow), the first one FIRST_CHECK_S after start-up, so that
a start (or `make run`'s first call) never competes with a catch-up run; child processes
run at the lowest CPU priority (nice 19): live calls come first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.quality.refresh import follow

logger = logging.getLogger(__name__)
CHECK_S = 600.0  # s between checks
DEFERRED = "quality-job-deferred"  # an action that waits for a quieter moment: not a failure
FIRST_CHECK_S = 900.0  # s after start-up before the first check
WEEK_S = 7 * 86400.0
Action = Callable[[float], Awaitable[None]]  # run for the slot at this UNIX time


@dataclass(frozen=True, slots=True)
class Weekly:
    name: str  # a code: the record's file name
    weekday: int  # ISO, 1 = Monday
    hour: int  # UTC


def iso_week(at: float) -> str:
    """UNIX s -> '2026-W49' (UTC)."""
    year, week, _ = datetime.fromtimestamp(at, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def latest_slot(job: Weekly, now: float) -> float:
    """The job's latest slot at or before `now` (UNIX s)."""
    day = datetime.fromtimestamp(now, UTC)
    monday = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=day.weekday())
    slot = (monday + timedelta(days=job.weekday - 1, hours=job.hour)).timestamp()
    return slot if slot <= now else slot - WEEK_S


def due(job: Weekly, now: float, last_week: str | None) -> float | None:
    """The slot to run for now, or None when its week already ran."""
    slot = latest_slot(job, now)
    return None if iso_week(slot) == last_week else slot


class WeeklyRunner:
    """Runs each due job's action, recording what ran under `state_dir`."""

    def __init__(
        self,
        jobs: Sequence[tuple[Weekly, Action]],
        state_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs, self.state_dir, self.clock = list(jobs), state_dir, clock

    def record_path(self, job: Weekly) -> Path:
        return self.state_dir / f"schedule-{job.name}.json"

    def last_week(self, job: Weekly) -> str | None:
        try:
            week = json.loads(self.record_path(job).read_text("utf-8"))["week"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # never ran (or an unreadable record: run again)
        return str(week)

    def _record(self, job: Weekly, slot: float) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.record_path(job)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"week": iso_week(slot), "ran_at": self.clock()}), "utf-8")
        os.replace(tmp, path)

    async def refresh_async(self) -> list[str]:
        """Run what is due now; the names of the jobs that ran. A job that fails is
        logged (its code) and left due; the others still run."""
        ran = []
        for job, action in self.jobs:
            slot = due(job, self.clock(), self.last_week(job))
            if slot is None:
                continue
            try:
                await action(slot)
            except ApplianceError as exc:
                level = logging.INFO if exc.code == DEFERRED else logging.ERROR
                logger.log(
                    level, "scheduled job not run", extra={"job": job.name, "code": exc.code}
                )
                continue
            except Exception as exc:  # the schedule outlives a bad run; the type only
                code = type(exc).__name__
                logger.error("scheduled job failed", extra={"job": job.name, "code": code})
                continue
            self._record(job, slot)
            logger.info("scheduled job ran", extra={"job": job.name, "week": iso_week(slot)})
            ran.append(job.name)
        return ran


async def follow_schedule(
    runner: WeeklyRunner,
    stop: asyncio.Event,
    every_s: float = CHECK_S,
    first_after_s: float = FIRST_CHECK_S,
) -> None:
    """Check every `every_s` until `stop`, the first check `first_after_s` after the call."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), first_after_s)
    if not stop.is_set():
        await follow(runner, "schedule", stop, every_s)


def _lowest_priority() -> None:
    """In the child before exec: nice 19, so a live call's STT and TTS come first."""
    os.nice(19)


def previous_week(slot: float) -> str:
    """The ISO week before the slot's: the last full week when a digest is made."""
    return iso_week(slot - WEEK_S)


async def run_command(argv: Sequence[str], timeout_s: float) -> None:
    """A child process to its end; quality-job-failed when it fails or takes too long
    (its output goes to the admin's log streams, never parsed)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, preexec_fn=_lowest_priority
    )
    try:
        rc = await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ApplianceError("quality-job-timeout", f"took over {timeout_s:.0f} s") from None
    if rc != 0:
        raise ApplianceError("quality-job-failed", f"exit status {rc}")

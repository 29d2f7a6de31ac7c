"""The running appliance's retention job: purge at start-up, then every `purge_every_h`.

It runs in the supervisor (`appliance run`) or the admin process, on a worker thread so
the event loop never waits on the purge or the vacuum. A failed purge is logged with its
code only and retried at the next interval; it never stops the appliance. The job keeps
one RetentionClock: each purge checks the wall clock against the monotonic one since the
last purge that ran, and skips on a clock that looks wrong (`retention-clock-suspect`,
logged by the purge).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from appliance.errors import ApplianceError
from appliance.governance.retention import PurgeReport, RetentionPolicy, purge
from appliance.governance.retention_clock import RetentionClock
from appliance.store.db import Database

logger = logging.getLogger(__name__)


async def purge_periodically(
    db: Database,
    policy: RetentionPolicy,
    every_s: float,
    stop: asyncio.Event,
    on_report: Callable[[PurgeReport], None] | None = None,
    actor: str = "supervisor",
    clock: RetentionClock | None = None,
) -> None:
    """Purge now and then every `every_s` seconds until `stop` is set (0: never).

    `clock`: the clocks the purges read (the system's when None)."""
    if every_s <= 0:
        return
    clock = RetentionClock() if clock is None else clock
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(purge, db, policy, clock=clock, actor=actor)
        except ApplianceError as exc:
            logger.error("retention purge failed", extra={"stage": "retention", "code": exc.code})
        else:
            if report.clock_suspect is None:
                extra = {"stage": "retention", "counts": report.counts}
                logger.info("retention purge", extra=extra)
            if on_report is not None:
                on_report(report)
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            continue

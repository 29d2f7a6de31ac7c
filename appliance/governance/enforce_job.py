"""The running appliance's automatic demotion: `appliance governance enforce` every
`[governance] enforce_every_min` (0: the CLI only), in the admin process and in `appliance
run`'s supervisor. Each demotion is audited by `demotion.enforce` (`usecase.demoted`),
logged with its use case and codes, and counted on /metrics as
`appliance_usecase_demotions_total{tier}` (tiers low, medium, high: a fixed label set).
The counter is read from the audit chain, so it survives restarts and counts the
demotions of every process that enforces; the monitoring role's `UseCaseDemoted` alert
fires on its increase and mails the owner through Alertmanager. A failed run is logged
with its code only and retried at the next interval; it never stops the appliance.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from appliance.config import Governance
from appliance.errors import ApplianceError
from appliance.governance import demotion
from appliance.governance import use_cases as uc
from appliance.observability.metrics import Metrics
from appliance.store.db import Connection, Database

logger = logging.getLogger(__name__)
DEMOTIONS = "appliance_usecase_demotions"  # exposed as ..._total
RunOnce = Callable[[], Awaitable[list[demotion.Demotion]]]
Sleep = Callable[[float], Awaitable[None]]
SQL = (
    "SELECT u.tier, count(*) FROM audit a JOIN use_cases u ON u.id = a.object_id"
    " WHERE a.action = 'usecase.demoted' GROUP BY u.tier"
)


def demotions_by_tier(conn: Connection) -> dict[str, int]:
    """How many demotions the audit chain holds, per tier (every tier, 0 included)."""
    found = {str(tier): int(n) for tier, n in conn.execute(SQL)}
    return {tier: found.get(tier, 0) for tier in uc.TIERS}


class DemotionBoard:
    """`appliance_usecase_demotions_total{tier}` as last read from the store."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._counts: dict[str, int] | None = None

    async def refresh_async(self) -> dict[str, int]:
        counts = await self.db.run_query(demotions_by_tier)
        with self._lock:
            self._counts = counts
        return counts

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            counts = self._counts
        if counts is None:
            return
        family = CounterMetricFamily(
            DEMOTIONS, "Use cases paused by their failing gate, by tier", labels=["tier"]
        )
        for tier, n in counts.items():
            family.add_metric([tier], float(n))
        yield family


def reported(found: list[demotion.Demotion]) -> list[demotion.Demotion]:
    """Log each demotion: its use case and codes (never words)."""
    for d in found:
        extra = {"stage": "governance", "use_case": d.use_case, "code": ",".join(d.failing)}
        logger.warning("use case demoted", extra=extra)
    return found


async def enforce_periodically(
    run_once: RunOnce,
    every_s: float,
    stop: asyncio.Event,
    sleep: Sleep = asyncio.sleep,
    on_run: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Run `run_once` now and then every `every_s` seconds until `stop` (0: never);
    `on_run` after each run (the counter's refresh). `sleep`: the clock waited on."""
    if every_s <= 0:
        return
    while not stop.is_set():
        try:
            reported(await run_once())
        except ApplianceError as exc:
            logger.error("enforce failed", extra={"stage": "governance", "code": exc.code})
        except Exception as exc:  # the job outlives a bad run; the type only
            logger.error("enforce failed", extra={"code": type(exc).__name__})
        if on_run is not None:
            try:
                await on_run()
            except ApplianceError as exc:
                logger.error("demotions not counted", extra={"code": exc.code})
        await _pause(stop, every_s, sleep)


async def _pause(stop: asyncio.Event, every_s: float, sleep: Sleep) -> None:
    """Until `every_s` passed on `sleep`'s clock or `stop` is set."""
    waits = {asyncio.ensure_future(sleep(every_s)), asyncio.ensure_future(stop.wait())}
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def enforce_job(db: Database, cfg: Governance, metrics: Metrics, stop: asyncio.Event) -> None:
    """What the admin and the supervisor start: the counter on /metrics, enforce on time."""
    board = DemotionBoard(db)
    metrics.add_collector(board)

    async def run_once() -> list[demotion.Demotion]:
        return await asyncio.to_thread(demotion.enforce, db, cfg, time.time())

    await enforce_periodically(
        run_once, cfg.enforce_every_min * 60.0, stop, on_run=board.refresh_async
    )

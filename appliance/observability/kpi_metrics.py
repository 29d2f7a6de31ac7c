"""The business KPIs of the last 24 h as Prometheus gauges, computed from the store.

`KpiBoard.refresh()` reads the KPIs of the calls that ended in the last WINDOW_S
(appliance/quality/kpis.py: containment, compliance flags, transfer failures); as a
prometheus Collector it exports them, without labels: counts and shares, never a call id,
a number or a word. A share whose denominator is 0 (no calls, nothing scored, no
transfer) is left out rather than exported as 0 or NaN, so no alert fires on it.
`appliance_kpi_refreshed_timestamp_seconds` is when the last refresh succeeded (0 before
the first), so that an alert sees KPIs that stopped being refreshed.

`kpi_job(db, metrics, stop)` is what the admin process starts (the admin unit, or
`appliance run`): it adds the board to /metrics and refreshes it every REFRESH_S on the
store's own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from appliance.errors import ApplianceError
from appliance.observability.metrics import Metrics
from appliance.quality.kpis import Kpis, compute_kpis
from appliance.store.db import Database

logger = logging.getLogger(__name__)
WINDOW_S = 86400.0  # the rolling window: 24 h
REFRESH_S = 60.0  # s between refreshes

# name -> (help, the Kpis attribute)
COUNTS = {
    "appliance_kpi_calls": ("Calls ended in the last 24 h", "calls"),
    "appliance_kpi_contained_calls": (
        "Calls ended in the last 24 h without a transfer or escalation",
        "contained",
    ),
    "appliance_kpi_scored_calls": (
        "Calls ended in the last 24 h with compliance scores",
        "scored",
    ),
    "appliance_kpi_compliance_flagged_calls": (
        "Scored calls of the last 24 h that fail a compliance evaluator",
        "flagged",
    ),
    "appliance_kpi_transfers": (
        "Transfers with a result (answered or failed) in calls of the last 24 h",
        "transfers",
    ),
    "appliance_kpi_transfers_failed": (
        "Failed transfers in calls of the last 24 h",
        "transfers_failed",
    ),
}
RATIOS = {
    "appliance_kpi_containment_ratio": (
        "Share of the last 24 h's calls ended without a transfer or escalation",
        "containment_rate",
    ),
    "appliance_kpi_compliance_flag_ratio": (
        "Share of the last 24 h's scored calls that fail a compliance evaluator",
        "compliance_flag_rate",
    ),
    "appliance_kpi_transfer_failure_ratio": (
        "Share of the last 24 h's transfers that failed",
        "transfer_failure_rate",
    ),
}
REFRESHED = "appliance_kpi_refreshed_timestamp_seconds"


class KpiBoard:
    """The last 24 h's KPIs from `db`, as a prometheus Collector."""

    def __init__(
        self, db: Database, clock: Callable[[], float] = time.time, window_s: float = WINDOW_S
    ) -> None:
        self.db, self.clock, self.window_s = db, clock, window_s
        self._lock = threading.Lock()
        self._kpis: Kpis | None = None
        self._refreshed_at = 0.0

    def refresh(self) -> Kpis:
        """Read the KPIs now (blocking); raises the store's errors."""
        now = self.clock()
        kpis = self.db.query(compute_kpis, now - self.window_s, now)
        self._keep(kpis, now)
        return kpis

    async def refresh_async(self) -> Kpis:
        """`refresh` on the store's own thread (never the event loop's)."""
        now = self.clock()
        kpis = await self.db.run_query(compute_kpis, now - self.window_s, now)
        self._keep(kpis, now)
        return kpis

    def _keep(self, kpis: Kpis, now: float) -> None:
        with self._lock:
            self._kpis, self._refreshed_at = kpis, now

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            kpis, refreshed_at = self._kpis, self._refreshed_at
        yield GaugeMetricFamily(
            REFRESHED, "When the KPIs were last read from the store (UNIX s)", value=refreshed_at
        )
        if kpis is None:
            return
        for name, (text, attribute) in COUNTS.items():
            yield GaugeMetricFamily(name, text, value=float(getattr(kpis, attribute)))
        for name, (text, attribute) in RATIOS.items():
            value = getattr(kpis, attribute)
            if value is not None:
                yield GaugeMetricFamily(name, text, value=float(value))


async def follow_kpis(board: KpiBoard, stop: asyncio.Event, every_s: float = REFRESH_S) -> None:
    """Refresh the board every `every_s` until `stop`; a failed refresh is logged (its
    code) and the last values stay (their timestamp shows their age)."""
    while not stop.is_set():
        try:
            await board.refresh_async()
        except ApplianceError as exc:
            logger.error("kpis not refreshed", extra={"code": exc.code})
        except Exception as exc:  # the job outlives a bad refresh; the type only
            logger.error("kpis not refreshed", extra={"code": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def kpi_job(db: Database, metrics: Metrics, stop: asyncio.Event) -> None:
    """The admin's KPI gauges: on /metrics from now on, refreshed until `stop`."""
    board = KpiBoard(db)
    metrics.add_collector(board)
    await follow_kpis(board, stop)

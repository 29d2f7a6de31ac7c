"""The business KPIs of the last 24 h as Prometheus gauges, computed from the store (and
the proxy signals of recognition trouble per use case, kpi_proxy.py).

`KpiBoard.refresh()` reads the KPIs of the calls that ended in the last WINDOW_S
(appliance/quality/kpis.py: containment, compliance flags, transfer failures); as a
prometheus Collector it exports them: counts and shares, never a call id, a number or a
word, and no label but the escalation reason of `appliance_kpi_escalated_calls`, whose
values are a fixed list (ESCALATION_REASONS, anything else "other"), each exported. A
share whose denominator is 0 (no calls, nothing scored, no transfer) is left out rather
than exported as 0 or NaN, so no alert fires on it.
`appliance_kpi_refreshed_timestamp_seconds` is when the last refresh succeeded (0 before
the first), so that an alert sees KPIs that stopped being refreshed.

`kpi_job(db, metrics, stop)` is what the admin process starts (the admin unit, or
`appliance run`): it adds the board to /metrics and refreshes it every REFRESH_S on the
store's own thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from appliance.config_quality import QualityCost
from appliance.observability.metrics import Metrics
from appliance.quality.kpi_gauges import more_families
from appliance.quality.kpi_more import MoreKpis, compute_more
from appliance.quality.kpi_proxy import ProxyCounts, proxy_by_use_case, proxy_families
from appliance.quality.kpis import ESCALATION_REASONS, Kpis, compute_kpis, escalation_counts
from appliance.quality.refresh import follow
from appliance.store.db import Connection, Database

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
ESCALATED = "appliance_kpi_escalated_calls"
OTHER = "other"
# the KPIs, calls per escalation reason, deflection, handling time, cost, use cases, and
# the proxy signals per use case
Reading = tuple[Kpis, dict[str, int], MoreKpis, dict[str, ProxyCounts]]


def read_kpis(
    conn: Connection, since: float, until: float, cost: QualityCost | None = None
) -> Reading:
    """The KPIs and the escalations per fixed reason, in one read transaction."""
    reasons = dict.fromkeys((*ESCALATION_REASONS, OTHER), 0)
    for reason, calls in escalation_counts(conn, since, until).items():
        reasons[reason if reason in ESCALATION_REASONS else OTHER] += calls
    more = compute_more(conn, since, until, cost, reasons)
    proxy = proxy_by_use_case(conn, since, until)
    return compute_kpis(conn, since, until), reasons, more, proxy


class KpiBoard:
    """The last 24 h's KPIs from `db`, as a prometheus Collector."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], float] = time.time,
        window_s: float = WINDOW_S,
        cost: QualityCost | None = None,
    ) -> None:
        self.db, self.clock, self.window_s, self.cost = db, clock, window_s, cost
        self._lock = threading.Lock()
        self._reading: Reading | None = None
        self._refreshed_at = 0.0

    def refresh(self) -> Kpis:
        """Read the KPIs now (blocking); raises the store's errors."""
        now = self.clock()
        reading = self.db.query(read_kpis, now - self.window_s, now, self.cost)
        self._keep(reading, now)
        return reading[0]

    async def refresh_async(self) -> Kpis:
        """`refresh` on the store's own thread (never the event loop's)."""
        now = self.clock()
        reading = await self.db.run_query(read_kpis, now - self.window_s, now, self.cost)
        self._keep(reading, now)
        return reading[0]

    def _keep(self, reading: Reading, now: float) -> None:
        with self._lock:
            self._reading, self._refreshed_at = reading, now

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            reading, refreshed_at = self._reading, self._refreshed_at
        yield GaugeMetricFamily(
            REFRESHED, "When the KPIs were last read from the store (UNIX s)", value=refreshed_at
        )
        if reading is None:
            return
        kpis, reasons, more, proxy = reading
        for name, (text, attribute) in COUNTS.items():
            yield GaugeMetricFamily(name, text, value=float(getattr(kpis, attribute)))
        for name, (text, attribute) in RATIOS.items():
            value = getattr(kpis, attribute)
            if value is not None:
                yield GaugeMetricFamily(name, text, value=float(value))
        escalated = GaugeMetricFamily(
            ESCALATED, "Calls of the last 24 h escalated, by reason (fixed list)", labels=["reason"]
        )
        for reason, calls in reasons.items():
            escalated.add_metric([reason], float(calls))
        yield escalated
        yield from more_families(more, self.cost.currency if self.cost else "")
        yield from proxy_families(proxy)


async def follow_kpis(board: KpiBoard, stop: asyncio.Event, every_s: float = REFRESH_S) -> None:
    """Refresh the board every `every_s` until `stop` (quality.refresh.follow)."""
    await follow(board, "kpis", stop, every_s)


async def kpi_job(
    db: Database, metrics: Metrics, stop: asyncio.Event, cost: QualityCost | None = None
) -> None:
    """The admin's KPI gauges: on /metrics from now on, refreshed until `stop`."""
    board = KpiBoard(db, cost=cost)
    metrics.add_collector(board)
    await follow_kpis(board, stop)

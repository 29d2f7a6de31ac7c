"""WER as Prometheus gauges, from the store: `appliance_wer_ratio{source}` and
`appliance_wer_samples{source}`.

source="synthetic": the latest stored run of the golden set (`appliance quality
wer-golden`, appliance/quality/wer_golden.py); samples = its lines.
source="corrections": the reviewer corrections of the caller turns spoken in the last
WINDOW_S (7 days), scored on each refresh; samples = corrected turns.
A source with no run or no corrections is left out (no 0, no NaN: no alert fires on it);
the alert on WER waits for a minimum of samples (roles/monitoring). Label values are the
fixed list wer_store.SOURCES; nothing else is exported (no call id, no word).
`appliance_wer_entity_error_ratio{source}` goes with them, and
`appliance_wer_run_timestamp_seconds{source}` says when the synthetic run was made (or
the corrections were read), so a stale trend can be seen.

`wer_job(db, metrics, stop)` is what the admin starts: the gauges on /metrics, refreshed
every REFRESH_S on the store's own thread (as appliance/quality/kpi_metrics.py does).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from appliance.observability.metrics import Metrics
from appliance.quality.refresh import follow
from appliance.quality.wer import WerSummary, score_line, summarise
from appliance.quality.wer_store import corrected_turns, latest_run
from appliance.store.db import Connection, Database

logger = logging.getLogger(__name__)
WINDOW_S = 7 * 86400.0  # corrections of the caller turns of the last 7 days
REFRESH_S = 300.0  # s between refreshes
RATIO = "appliance_wer_ratio"
SAMPLES = "appliance_wer_samples"
ENTITY_RATIO = "appliance_wer_entity_error_ratio"
RUN_AT = "appliance_wer_run_timestamp_seconds"
Reading = dict[str, tuple[WerSummary, float]]  # source -> (summary, measured at)


def read_wer(conn: Connection, since: float, until: float) -> Reading:
    """The latest synthetic run and the window's corrections, in one read transaction."""
    reading: Reading = {}
    run = latest_run(conn, "synthetic")
    if run is not None:
        reading["synthetic"] = (run.summary, run.run_at)
    turns = corrected_turns(conn, since, until)
    if turns:
        lines = [score_line(t.corrected, t.transcript) for t in turns]
        reading["corrections"] = (summarise(lines), until)
    return reading


class WerBoard:
    """The WER gauges from `db`, as a prometheus Collector."""

    def __init__(
        self, db: Database, clock: Callable[[], float] = time.time, window_s: float = WINDOW_S
    ) -> None:
        self.db, self.clock, self.window_s = db, clock, window_s
        self._lock = threading.Lock()
        self._reading: Reading = {}

    def refresh(self) -> Reading:
        now = self.clock()
        reading = self.db.query(read_wer, now - self.window_s, now)
        with self._lock:
            self._reading = reading
        return reading

    async def refresh_async(self) -> Reading:
        now = self.clock()
        reading = await self.db.run_query(read_wer, now - self.window_s, now)
        with self._lock:
            self._reading = reading
        return reading

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            reading = dict(self._reading)
        ratio = GaugeMetricFamily(RATIO, "Word error rate, by source", labels=["source"])
        samples = GaugeMetricFamily(
            SAMPLES, "Lines or corrected turns the WER is measured on", labels=["source"]
        )
        entity = GaugeMetricFamily(
            ENTITY_RATIO, "Share of names, dates and numbers misheard", labels=["source"]
        )
        run_at = GaugeMetricFamily(RUN_AT, "When the WER was measured (UNIX s)", labels=["source"])
        for source, (summary, at) in sorted(reading.items()):
            samples.add_metric([source], float(summary.samples))
            run_at.add_metric([source], at)
            if summary.wer is not None:
                ratio.add_metric([source], summary.wer)
            if summary.entity_error_rate is not None:
                entity.add_metric([source], summary.entity_error_rate)
        yield from (ratio, samples, entity, run_at)


async def wer_job(db: Database, metrics: Metrics, stop: asyncio.Event) -> None:
    """The admin's WER gauges: on /metrics from now on, refreshed until `stop`."""
    board = WerBoard(db)
    metrics.add_collector(board)
    await follow(board, "wer", stop, REFRESH_S)

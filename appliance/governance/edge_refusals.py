"""The SIP edge's refusals of initial INVITEs, per UTC day, for the platform report.

The edge's beacon carries Kamailio's totals since it started
(`appliance_sip_edge_refused_total{code,reason}`, appliance/edge/refusals.py) and that
start time (`appliance_sip_edge_start_time_seconds`, the counters' epoch). The admin
(`edge_refusals_job`) stores the differences: per (status, reason) the last total seen
and its epoch are kept (`edge_refusal_marks`); a new epoch, or a total below the last
(Kamailio restarted), counts the whole new total; an admin restart goes on from the
stored marks, so nothing is counted twice. What Kamailio refused after the last beacon
the admin read before it died is lost (at most a few seconds' worth). Under `appliance
run` the supervisor reads Kamailio and stores them the same way (no beacon). The agent
workers store their own refusals in the same table under reasons of their own
(worker-busy, worker-draining, worker-other: appliance/governance/worker_refusals.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from appliance.errors import ApplianceError
from appliance.observability.beacons import Sample
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

logger = logging.getLogger(__name__)

EDGE_REFUSALS_VERSION = 19  # the user_version this migration leaves
EVERY_S = 10.0  # s between the admin's reads of the edge's beacon
REFUSED = "appliance_sip_edge_refused_total"  # appliance/edge/refusals.py REFUSED_METRIC
STARTED = "appliance_sip_edge_start_time_seconds"  # its START_METRIC
# the refusals that say the service could not take the call (edge/refusals.py)
SERVICE_REASONS = ("no-worker", "all-busy", "no-answer", "draining", "rate")

Totals = dict[tuple[str, str], int]

EDGE_REFUSALS_MIGRATION = Migration(
    EDGE_REFUSALS_VERSION,
    """
    CREATE TABLE edge_refusals (
        day    TEXT NOT NULL,           -- YYYY-MM-DD, UTC
        code   TEXT NOT NULL,           -- SIP status, or 'none' (ignored)
        reason TEXT NOT NULL,           -- a fixed reason code (appliance/edge/refusals.py)
        count  INTEGER NOT NULL CHECK (count >= 0),
        PRIMARY KEY (day, code, reason)
    );
    CREATE TABLE edge_refusal_marks (
        code   TEXT NOT NULL,
        reason TEXT NOT NULL,
        epoch  REAL NOT NULL,           -- Kamailio's start (UNIX s) the total belongs to
        seen   INTEGER NOT NULL CHECK (seen >= 0),
        PRIMARY KEY (code, reason)
    );
    """,
)


def from_samples(samples: list[Sample]) -> tuple[float, Totals] | None:
    """(epoch, totals) from the edge beacon's samples; None without an epoch."""
    epochs = [s.value for s in samples if s.name == STARTED]
    if not epochs:
        return None
    totals = {
        (s.labels.get("code", ""), s.labels.get("reason", "")): int(s.value)
        for s in samples
        if s.name == REFUSED and s.value >= 0
    }
    return epochs[0], totals


def record(conn: Connection, epoch: float, totals: Totals, at: float) -> Totals:
    """Add what is new in `totals` since the stored marks to the day of `at`; the deltas."""
    marks = {
        (str(c), str(r)): (float(e), int(n))
        for c, r, e, n in conn.execute("SELECT code, reason, epoch, seen FROM edge_refusal_marks")
    }
    day = datetime.fromtimestamp(at, UTC).date().isoformat()
    deltas: Totals = {}
    for (code, reason), total in totals.items():
        mark = marks.get((code, reason))
        same = mark is not None and mark[0] == epoch and total >= mark[1]
        delta = total - mark[1] if same and mark is not None else total
        if mark is not None and mark == (epoch, total):
            continue
        conn.execute(
            "INSERT INTO edge_refusal_marks VALUES (?, ?, ?, ?) ON CONFLICT (code, reason)"
            " DO UPDATE SET epoch = excluded.epoch, seen = excluded.seen",
            (code, reason, epoch, total),
        )
        if delta > 0:
            conn.execute(
                "INSERT INTO edge_refusals VALUES (?, ?, ?, ?) ON CONFLICT (day, code, reason)"
                " DO UPDATE SET count = count + excluded.count",
                (day, code, reason, delta),
            )
            deltas[(code, reason)] = delta
    return deltas


def refused_between(conn: Connection, first_day: str, end_day: str) -> dict[str, int]:
    """Refusals by reason on the UTC days [first_day, end_day) (YYYY-MM-DD)."""
    sql = (
        "SELECT reason, sum(count) FROM edge_refusals WHERE day >= ? AND day < ?"
        " GROUP BY reason ORDER BY reason"
    )
    return {str(r): int(n) for r, n in conn.execute(sql, (first_day, end_day))}


async def edge_refusals_job(
    db: Database,
    samples: Callable[[], list[Sample]],
    stop: asyncio.Event,
    clock: Callable[[], float],
    every_s: float = EVERY_S,
) -> None:
    """Every `every_s` until `stop`, and once more at the end: store the edge's new
    refusals (`samples`: its fresh beacon's, e.g. BeaconBoard.samples_of)."""
    while True:
        try:
            await db.run(record_samples, samples(), clock())
        except ApplianceError as exc:
            logger.warning("edge refusals not stored", extra={"stage": "edge", "code": exc.code})
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


def record_samples(conn: Connection, samples: list[Sample], at: float) -> Totals:
    """Store what the edge's beacon samples add (nothing without their epoch)."""
    found = from_samples(samples)
    return {} if found is None else record(conn, found[0], found[1], at)

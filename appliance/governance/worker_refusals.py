"""The inbound calls the agent workers refused themselves, per UTC day, for the report.

A worker refuses an INVITE with 486 when all its call slots are busy and with 503 while
it drains (`appliance_calls_rejected_total{code}` on /metrics). It also tallies them
here (`WorkerRefusals.add`, from the SIP thread) and stores the tally every few seconds
and once at its end, in the edge's table (edge_refusals, migration 19) under fixed
reasons of its own: status and reason only, never caller data. A crash loses at most
the last few seconds' tally.

These are the refusals a worker saw, reported by reason; the answer rate does not use
them. With all of its pjsua call slots taken (4 per worker in the pjsua2 wheel), pjsua
answers 486 before the appliance's code sees the INVITE, so a worker cannot count every
refusal; and one call may be refused by several workers. The SIP edge sees every INVITE
and counts the call every worker refused once (reason `all-busy`,
appliance/edge/refusals.py), and that is what the report's answer rate counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from appliance.errors import ApplianceError
from appliance.store.db import Connection, Database

logger = logging.getLogger(__name__)

EVERY_S = 10.0  # s between a worker's writes of its tally
REASONS = {486: "worker-busy", 503: "worker-draining"}  # status -> fixed reason
OTHER = "worker-other"

Tally = dict[tuple[str, str], int]  # (status, reason) -> refusals


class WorkerRefusals:
    """A worker's refusals not stored yet (thread-safe: the SIP thread adds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tally: Tally = {}

    def add(self, status: int) -> None:
        code = str(status) if 100 <= status < 700 else "other"
        key = (code, REASONS.get(status, OTHER))
        with self._lock:
            self._tally[key] = self._tally.get(key, 0) + 1

    def take(self) -> Tally:
        with self._lock:
            taken, self._tally = self._tally, {}
        return taken


def store(conn: Connection, tally: Tally, at: float) -> None:
    """Add `tally` to the UTC day of `at`."""
    day = datetime.fromtimestamp(at, UTC).date().isoformat()
    for (code, reason), count in sorted(tally.items()):
        conn.execute(
            "INSERT INTO edge_refusals VALUES (?, ?, ?, ?) ON CONFLICT (day, code, reason)"
            " DO UPDATE SET count = count + excluded.count",
            (day, code, reason, count),
        )


async def flush(db: Database, refusals: WorkerRefusals, at: float) -> None:
    tally = refusals.take()
    if not tally:
        return
    try:
        await db.run(store, tally, at)
    except ApplianceError as exc:
        logger.warning("worker refusals not stored", extra={"stage": "agent", "code": exc.code})


async def worker_refusals_job(
    db: Database,
    refusals: WorkerRefusals,
    stop: asyncio.Event,
    clock: Callable[[], float],
    every_s: float = EVERY_S,
) -> None:
    """Every `every_s` until `stop`, and once more at the end: store the new tally."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        await flush(db, refusals, clock())

"""The calls the agent workers refused (486 busy, 503 draining), tallied from the SIP
thread, stored per day by the worker's job (a real SQLCipher file) and listed in the
platform report's incidents; the offered calls count each refused call once, from the
edge's all-busy count (the edge sees every INVITE; a worker misses what pjsua refuses)."""

from __future__ import annotations

import asyncio
import threading

from appliance.governance import edge_refusals
from appliance.governance.reports import platform
from appliance.governance.worker_refusals import (
    WorkerRefusals,
    store,
    worker_refusals_job,
)
from appliance.store.db import Database
from tests.unit.test_edge_refusals_store import DAY1, DAY2, by_day, db, pytestmark, seed

__all__ = ["db", "pytestmark"]


def refuse(refusals: WorkerRefusals, statuses: list[int]) -> None:
    """As the SIP thread does: each refusal added from another thread."""
    thread = threading.Thread(target=lambda: [refusals.add(s) for s in statuses])
    thread.start()
    thread.join()


def test_the_job_stores_each_day_s_refusals_and_the_last_ones_at_its_end(db: Database) -> None:
    refusals, stop = WorkerRefusals(), asyncio.Event()
    now = [DAY1]

    async def run() -> None:
        job = asyncio.create_task(worker_refusals_job(db, refusals, stop, lambda: now[0], 0.05))
        refuse(refusals, [486, 486, 503])
        for _ in range(200):  # until stored, with a deadline
            if by_day(db, "2026-11-03"):
                break
            await asyncio.sleep(0.05)
        now[0] = DAY2
        refuse(refusals, [486, 599, 0])  # the next day; odd statuses under fixed codes
        stop.set()
        await job  # the last tally stored at its end

    asyncio.run(run())
    assert by_day(db, "2026-11-03") == {"worker-busy": 2, "worker-draining": 1}
    assert by_day(db, "2026-11-04") == {"worker-busy": 1, "worker-other": 2}
    codes = db.query(lambda c: sorted(r[0] for r in c.execute("SELECT code FROM edge_refusals")))
    assert set(codes) <= {"486", "503", "599", "other"}  # status codes only


def test_a_call_every_worker_refused_counts_once_in_the_answer_rate(db: Database) -> None:
    db.execute(seed)  # 10 calls in the store, 8 answered; the edge refused 10 (no-worker)
    # two workers: 3 calls both refused (6 refusals, the first of each passed on), one
    # call the first refused and the second answered (a call in the store already), one
    # 503 while draining with no other worker to pass it on to. The edge counts the 4
    # calls every worker refused (all-busy); the workers' own tally is not used again
    refusals = WorkerRefusals()
    refuse(refusals, [486] * 7 + [503])
    edge_counts = {("486", "passed-on"): 4, ("486", "all-busy"): 3, ("503", "all-busy"): 1}
    db.execute(lambda c: edge_refusals.record(c, DAY1 - 100, edge_counts, DAY1))
    db.execute(store, refusals.take(), DAY1 + 30)
    body = db.query(platform, "2026-11", 2)
    sla = body["sla"]
    assert sla["refused_at_edge"] == 14 and "refused_by_workers" not in sla
    assert sla["offered"] == 24 and sla["answer_rate"] == 8 / 24
    assert body["incidents"]["worker_refusals"] == {"worker-busy": 7, "worker-draining": 1}
    assert body["incidents"]["edge_refusals"] == {
        "acl": 50, "no-worker": 10, "all-busy": 4, "passed-on": 4
    }  # fmt: skip

"""The SIP edge's refusal counts, from its beacon into the store (a real SQLCipher file)
and the platform report: Kamailio's counters start again at 0 when it restarts, the
admin restarts too, and each refusal is still counted exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.edge import refusals as edge_side
from appliance.edge.refusals import Totals, refusal_samples
from appliance.governance import edge_refusals
from appliance.governance.edge_refusals import edge_refusals_job, record_samples, refused_between
from appliance.governance.reports import platform
from appliance.observability.beacon_board import BeaconBoard
from appliance.observability.beacons import BeaconWriter
from appliance.observability.health import Health
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Connection, Database

pytestmark = pytest.mark.unit
KEY = "cd" * 32
DAY1 = datetime(2026, 11, 3, 12, tzinfo=UTC).timestamp()
DAY2 = DAY1 + 86400


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.db", KEY, MIGRATIONS)
    yield database
    database.close()


def beacon_samples(folder: Path, epoch: float, totals: Totals, now: float) -> list[object]:
    """The edge's beacon written to `folder` and read back as the admin's board reads it."""
    health = Health()
    health.set("sip-edge", True, "answering OPTIONS")
    writer = BeaconWriter(folder, "sip-edge", health, lambda: refusal_samples(totals, epoch))
    writer.write(now)
    board = BeaconBoard(folder, ["sip-edge"], Health(), clock=lambda: now)
    board.refresh()
    return list(board.samples_of("sip-edge"))


def store(db: Database, folder: Path, epoch: float, totals: Totals, now: float) -> Totals:
    samples = beacon_samples(folder, epoch, totals, now)
    return db.execute(record_samples, samples, now)  # type: ignore[arg-type]


def by_day(db: Database, day: str) -> dict[str, int]:
    following = datetime.fromisoformat(day).date().toordinal() + 1
    end = datetime.fromordinal(following).date().isoformat()
    return db.query(refused_between, day, end)


def test_counts_survive_kamailio_and_admin_restarts_without_loss_or_double_count(
    db: Database, tmp_path: Path
) -> None:
    beacons, key = tmp_path / "health", ("486", "no-worker")
    first, second, third = DAY1 - 3600, DAY1 - 60, DAY1 + 600  # Kamailio's start times
    assert store(db, beacons, first, {key: 3}, DAY1) == {key: 3}
    assert store(db, beacons, first, {key: 5}, DAY1 + 5) == {key: 2}
    assert store(db, beacons, first, {key: 5}, DAY1 + 10) == {}  # the same beacon again
    # the admin restarts: the marks are in the store, not in its memory
    db.close()
    reopened = Database.open(tmp_path / "calls.db", KEY, MIGRATIONS)
    try:
        assert store(reopened, beacons, first, {key: 5}, DAY1 + 20) == {}
        # Kamailio restarts: its counter is back at 0, then counts again
        assert store(reopened, beacons, second, {}, DAY1 + 30) == {}
        assert store(reopened, beacons, second, {key: 1}, DAY1 + 40) == {key: 1}
        # another restart, and more refusals than before it before the admin looked:
        # a counter that only "went down" would miss this one
        assert store(reopened, beacons, third, {key: 7}, DAY1 + 700) == {key: 7}
        assert store(reopened, beacons, third, {key: 7, ("503", "draining"): 2}, DAY2) == {
            ("503", "draining"): 2
        }
        assert by_day(reopened, "2026-11-03") == {"no-worker": 13}
        assert by_day(reopened, "2026-11-04") == {"draining": 2}
    finally:
        reopened.close()


def test_a_beacon_without_the_epoch_stores_nothing(db: Database) -> None:
    assert db.execute(record_samples, [], DAY1) == {}
    assert by_day(db, "2026-11-03") == {}


def test_the_job_stores_the_edge_beacon_s_new_refusals(db: Database, tmp_path: Path) -> None:
    samples = beacon_samples(tmp_path, DAY1 - 10, {("486", "no-answer"): 4}, DAY1)
    stop = asyncio.Event()
    stop.set()  # one pass, as at the admin's stop

    async def run() -> None:
        await edge_refusals_job(db, lambda: samples, stop, lambda: DAY1)  # type: ignore[arg-type, return-value]

    asyncio.run(run())
    assert by_day(db, "2026-11-03") == {"no-answer": 4}


def seed(conn: Connection) -> None:
    for i in range(10):  # 10 calls in the store, 8 answered
        at = DAY1 + i * 60
        conn.execute(
            "INSERT INTO calls (call_id, started_at, ended_at, codec, remote_hash, outcome)"
            " VALUES (?, ?, ?, 'pcmu', 'h', 'completed')",
            (f"c{i}", at, at + 30),
        )
        if i < 8:
            conn.execute(
                "INSERT INTO call_events (call_id, kind, at) VALUES (?, 'answered', ?)",
                (f"c{i}", at),
            )
    epoch = DAY1 - 100
    edge_refusals.record(conn, epoch, {("486", "no-worker"): 6, ("403", "acl"): 50}, DAY1)
    edge_refusals.record(conn, epoch, {("486", "no-worker"): 10, ("403", "acl"): 50}, DAY1 + 9)


def test_the_platform_report_s_answer_rate_counts_the_edge_s_refusals(db: Database) -> None:
    db.execute(seed)
    body = db.query(platform, "2026-11", 2)
    sla = body["sla"]
    assert (sla["calls"], sla["answered"], sla["refused_at_edge"]) == (10, 8, 10)
    assert sla["offered"] == 20 and sla["answer_rate"] == 0.4  # 8 of 10 + 10 refused
    assert body["incidents"]["edge_refusals"] == {"acl": 50, "no-worker": 10}  # ACL: not offered
    assert db.query(platform, "2026-10", 2)["sla"]["answer_rate"] is None


def test_both_sides_name_the_same_service_reasons() -> None:
    assert edge_refusals.SERVICE_REASONS == edge_side.SERVICE_REASONS
    assert set(edge_side.SERVICE_REASONS) <= set(edge_side.REASONS)
    assert edge_refusals.REFUSED == edge_side.REFUSED_METRIC
    assert edge_refusals.STARTED == edge_side.START_METRIC

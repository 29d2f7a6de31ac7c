"""The proxy signals per use case on the admin's real /metrics page: calls placed in the
real SQLCipher store (the built-in use cases), scored by the real scorer, read by the
admin's KPI job and served by the admin app (litestar)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from appliance.admin.app import create_app
from appliance.governance.use_cases import ensure_built_in
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.quality.kpi_metrics import REFRESHED, kpi_job
from appliance.quality.kpi_proxy import SCORED, SIGNALS, UNSURE
from appliance.quality.scorer import score_pending
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Database

pytestmark = pytest.mark.integration

CANARY = "Zanzibar"  # a caller's word: never on the page


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.db", "ef" * 32, list(MIGRATIONS))
    ensure_built_in(database, demo=False, at=time.time() - 86400)
    yield database
    database.close()


async def place(db: Database, call_id: str, logprobs: list[float], events: list[tuple]) -> None:
    repo, at = CallRepository(db), time.time() - 600  # within the last 24 h
    await repo.start_call(call_id, at, "PCMU", "")
    for n, lp in enumerate(logprobs):
        await repo.add_turn(call_id, "caller", f"{CANARY} {n}", at + n, at + n + 0.5, {}, lp)
    for kind, code in events:
        await repo.add_event(call_id, kind, "workflow", code, at + 10, audited=False)
    await repo.end_call(call_id, at + 20, "completed")


def page_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_the_proxy_signals_reach_the_admins_metrics_page(db: Database) -> None:
    await place(
        db,
        "call-book",
        [-1.1, -0.2],
        [("intent", "book"), ("asked-again", "not-understood"), ("asked-again", "identity"),
         ("workflow-book", "caller-declined")],
    )  # fmt: skip
    await place(db, "call-info", [-0.1], [("intent", "clinic_info")])
    assert score_pending(db) == 2
    metrics, stop = Metrics(), asyncio.Event()
    job = asyncio.create_task(kpi_job(db, metrics, stop))
    deadline = time.monotonic() + 20
    with TestClient(create_app(Health(), metrics)) as client:
        while True:
            text = client.get("/metrics").text
            found = page_samples(text)
            if found.get((REFRESHED, ()), 0) > 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(job, 5)
    assert found[(REFRESHED, ())] > 0, "the KPIs were never read"
    booking, info = (("use_case", "scheduling"),), (("use_case", "clinic-information"),)
    assert found[(SCORED, booking)] == 1 and found[(UNSURE, booking)] == 1
    assert found[(SCORED, info)] == 1 and found[(UNSURE, info)] == 0
    for signal, n in (("low-confidence", 1), ("reprompts", 2), ("corrections", 1)):
        assert found[(SIGNALS, (("signal", signal), *booking))] == n, signal
        assert found[(SIGNALS, (("signal", signal), *info))] == 0, signal
    assert CANARY.lower() not in text.lower() and "call-book" not in text

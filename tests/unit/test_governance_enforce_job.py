"""The scheduled `enforce` on a virtual clock, on the real store: it runs at start-up and
then every `enforce_every_min`; a use case whose gate starts failing between two runs is
paused by the next one (not before), audited, and counted per tier on /metrics; a failed
run is logged and the schedule goes on; 0 minutes means the CLI only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from appliance.config import Governance
from appliance.errors import StoreError
from appliance.governance import demotion
from appliance.governance import use_cases as uc
from appliance.governance.enforce_job import DemotionBoard, enforce_periodically
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from tests.fakes import FakeClock
from tests.integration.rollout_seed import DAY, REPLIED, green, seed_week

pytestmark = pytest.mark.unit
EVERY_S = 15 * 60.0
CFG = Governance(min_calls=20, enforce_every_min=15)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database.open(tmp_path / "s.db", "3c" * 32, MIGRATIONS)
    yield database
    database.close()


async def test_enforce_runs_on_schedule_and_the_next_run_pauses_a_failing_use_case(
    db: Database, clock: FakeClock
) -> None:
    uc.ensure_built_in(db, demo=True, at=clock.time() - 30 * DAY)  # clinic-information: pilot
    seed_week(db, "ok", REPLIED, 20, now=clock.time() - 60)
    board, stop, runs = DemotionBoard(db), asyncio.Event(), []
    paused: list[tuple[float, demotion.Demotion]] = []

    async def run_once() -> list[demotion.Demotion]:
        runs.append(clock.now)
        found = demotion.enforce(db, CFG, clock.time())
        paused.extend((clock.now, d) for d in found)
        return found

    async def refresh() -> object:
        with clock.busy():  # the store's thread: real work, virtual time stands still
            return await board.refresh_async()

    async def scenario() -> None:
        job = asyncio.create_task(
            enforce_periodically(run_once, EVERY_S, stop, clock.sleep, refresh)
        )
        await clock.sleep(20 * 60)  # between the second and the third run: flagged calls
        flagged = green("consent-honoured")
        seed_week(db, "flag", REPLIED, 2, now=clock.time(), verdicts=flagged)
        await clock.sleep(40 * 60 - 1)
        stop.set()
        await job

    start = clock.now
    await clock.run(scenario(), limit_s=4 * 3600)
    assert [r - start for r in runs] == [0.0, 900.0, 1800.0, 2700.0]
    [(when, done)] = paused
    assert when - start == 1800.0  # the first run after the calls, not before
    assert (done.use_case, done.failing) == ("clinic-information", ("compliance-flag-rate",))
    assert uc.states(db)["clinic-information"] == "paused"
    registry = CollectorRegistry()
    registry.register(board)
    text = generate_latest(registry).decode()
    assert 'appliance_usecase_demotions_total{tier="low"} 1.0' in text
    assert 'appliance_usecase_demotions_total{tier="medium"} 0.0' in text
    assert 'appliance_usecase_demotions_total{tier="high"} 0.0' in text


async def test_a_failed_run_is_logged_and_the_schedule_goes_on(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    stop, runs = asyncio.Event(), []

    async def run_once() -> list[demotion.Demotion]:
        runs.append(clock.now)
        raise StoreError("store-closed", "the store is closed")

    async def scenario() -> None:
        job = asyncio.create_task(enforce_periodically(run_once, EVERY_S, stop, clock.sleep))
        await clock.sleep(2 * EVERY_S + 1)
        stop.set()
        await job

    await clock.run(scenario(), limit_s=4 * 3600)
    assert len(runs) == 3
    assert [r.code for r in caplog.records if r.message == "enforce failed"] == ["store-closed"] * 3  # type: ignore[attr-defined]


async def test_zero_minutes_means_the_cli_only(clock: FakeClock) -> None:
    async def run_once() -> list[demotion.Demotion]:
        raise AssertionError("not scheduled")

    await clock.run(enforce_periodically(run_once, 0.0, asyncio.Event(), clock.sleep))

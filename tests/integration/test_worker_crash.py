"""A worker killed mid-call (kill -9, OOM, watchdog) closes the calls it left open when it
starts again, under its systemd unit as under `appliance run`: each ends "interrupted",
with a `call.end` audit record (reason "worker-crashed"), so retention purges it like any
ended call. The calls of other workers are never touched."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.config import Settings, load_settings
from appliance.governance.retention import DAY_S, RetentionPolicy, purge
from appliance.observability.metrics import Metrics
from appliance.services import agent as agent_service
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.integration.governance_calls import AgentProcess, LlmRecorder, calling
from tests.integration.test_governance_audit import make_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def calls(db: Database) -> dict[str, tuple[Any, ...]]:
    """call_id -> (ended_at, outcome)."""
    rows = db.query(lambda c: c.execute("SELECT call_id, ended_at, outcome FROM calls").fetchall())
    return {row[0]: (row[1], row[2]) for row in rows}


def call_ends(db: Database) -> dict[str, tuple[str, str | None]]:
    """call_id -> (outcome, reason code) of its `call.end` audit record."""
    sql = "SELECT call_id, outcome, reason_code FROM audit WHERE action = 'call.end'"
    return {row[0]: (row[1], row[2]) for row in db.query(lambda c: c.execute(sql).fetchall())}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Path]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    return make_settings(tmp_path)


async def test_a_worker_closes_only_the_calls_its_previous_process_left_open(
    store: tuple[Settings, Path],
) -> None:
    settings, _ = store
    t0 = time.time() - 600  # the calls started in the last 10 minutes
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        zero, one, solo = (CallRepository(db, w) for w in (0, 1, None))
        for repo, call_id, t in ((zero, "w0-a", 1), (zero, "w0-b", 2), (zero, "w0-done", 3),
                                 (one, "w1-live", 4), (solo, "solo", 5)):  # fmt: skip
            await repo.start_call(call_id, t0 + t, "PCMU", "h")
        await zero.end_call("w0-done", t0 + 10, "completed")
        metrics = Metrics()
        agent_service.close_orphans(
            CallRepository(db, 0), metrics, 0
        )  # what `agent --worker 0` runs first
        after_zero = calls(db)
        again = CallRepository(db, 0).close_orphans(t0 + 30)
        solo_closed = CallRepository(db, None).close_orphans(t0 + 40)
        ends = call_ends(db)
        verdict = AuditLog(db).verify()
        report = purge(db, RetentionPolicy.from_settings(settings), now=t0 + 400 * DAY_S)
        left = calls(db)
    finally:
        db.close()
    assert {c: after_zero[c][1] for c in after_zero} == {
        "w0-a": "interrupted", "w0-b": "interrupted", "w0-done": "completed",
        "w1-live": None, "solo": None,
    }  # fmt: skip
    assert after_zero["w1-live"][0] is None  # another worker's live call: untouched
    assert again == [] and solo_closed == ["solo"]
    assert ends["w0-a"] == ends["w0-b"] == ("failed", "worker-crashed")
    assert ends["w0-done"] == ("ok", "completed") and "w1-live" not in ends
    assert (
        metrics.registry.get_sample_value("appliance_calls_total", {"outcome": "interrupted"}) == 2
    )
    assert verdict.ok, verdict.line()
    assert report.counts["call"] == 4 and list(left) == ["w1-live"]  # retention purged them


async def test_a_worker_killed_mid_call_ends_the_call_when_it_starts_again(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    llm = LlmRecorder()
    agent = AgentProcess(tmp_path, models_dir, llm.base_url, worker=0)  # as its unit runs it
    try:
        await asyncio.to_thread(agent.wait_ready)
        async with calling(agent.uri) as caller:
            await caller.agent_turn(min_s=1.0)  # the greeting: the call is in the store
            agent.proc.kill()  # SIGKILL mid-call: nothing of the worker runs any more
            assert await asyncio.to_thread(agent.proc.wait, 10) == -9
        settings = load_settings(agent.config)
        [(call_id, (ended_at, _))] = read(settings, calls).items()
        assert ended_at is None  # left open by the dead worker
        started = time.time()
        agent.start()  # systemd's Restart=on-failure / the supervisor's restart
        await asyncio.to_thread(agent.wait_ready)
        ended_at, outcome = read(settings, calls)[call_id]
        ends = read(settings, call_ends)
        verified = await asyncio.to_thread(agent.cli, "audit", "verify")
    finally:
        agent.stop()
        llm.close()
    assert outcome == "interrupted", f"call {outcome=} {ended_at=} after the worker restarted"
    assert ended_at is not None and ended_at >= started
    assert ends[call_id] == ("failed", "worker-crashed")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "worker-crashed" in agent.log.read_text()  # the warning, with its code


def read(settings: Settings, what: Any) -> Any:
    db = open_database(settings, MIGRATIONS)
    try:
        return what(db)
    finally:
        db.close()

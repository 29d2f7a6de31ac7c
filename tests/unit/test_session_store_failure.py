"""A store that refuses or stalls a write: the caller still hears the apology in full, the
call is hung up, the failure is counted with its code, and nothing escapes the session."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import pytest

from appliance.conversation.prompts import Prompt
from appliance.conversation.session import CallSession
from appliance.store.calls import CallRepository
from tests.fakes import FakeCall, FakeClock, FakeLlm, FakeStt, session_deps

pytestmark = pytest.mark.unit


def refuse_inserts(repo: CallRepository, table: str) -> None:
    """Make the real store refuse every insert into `table` (as a full disk would):
    a temporary trigger aborts the statement, the store raises store-write-failed."""
    sql = (
        f"CREATE TEMP TRIGGER refuse_{table} BEFORE INSERT ON main.{table}"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    repo._db.execute(lambda conn: conn.execute(sql))


def assert_apologised(call: FakeCall, deps: Any) -> None:
    """The apology was the last thing the caller heard, in full, then the call was hung up."""
    apology_s = sum(c.duration for c in deps.cache.get(Prompt.APOLOGY))
    assert call.spans, "the caller heard nothing"
    assert call.spans[-1][1] - call.spans[-1][0] == pytest.approx(apology_s)
    assert call.hung_up


@pytest.mark.parametrize("table", ["calls", "turns", "call_events"])
async def test_store_refusing_a_write_ends_with_apology(
    repo: CallRepository, clock: FakeClock, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    refuse_inserts(repo, table)
    deps, observed = await session_deps(clock, repo, FakeStt(clock, ["hello"]), FakeLlm(clock, []))
    call = FakeCall(clock, answers=1)
    session = CallSession(call, deps)
    with caplog.at_level(logging.INFO):
        outcome = await clock.run(session.run())

    assert outcome == "failed"
    assert_apologised(call, deps)
    assert observed.failures == [("store", "store-write-failed")]
    assert observed.outcomes == ["failed"] and observed.active == 0
    kinds = [e.kind for e in session.events]
    assert kinds[0] == "answered" and kinds[-1] == "ended"
    assert ("stage-failed", "store", "store-write-failed") in [
        (e.kind, e.stage, e.code) for e in session.events
    ]
    logged = [r for r in caplog.records if getattr(r, "code", None) == "store-write-failed"]
    assert logged, "the store failure was not logged with its code"
    for record in caplog.records:  # codes only: no exception text, no SQL, no words
        assert "refused" not in record.getMessage() and record.exc_info is None


class StalledRecorder:
    """A store whose writes never return (a lock never released, a hung disk)."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    async def _never(self) -> Any:
        await self._clock.sleep(10_000.0)

    async def start_call(self, *args: Any) -> None:
        await self._never()

    async def add_turn(self, *args: Any) -> int:
        return int(await self._never())

    async def end_call(self, *args: Any) -> None:
        await self._never()

    async def add_event(self, *args: Any) -> None:
        await self._never()


async def test_stalled_store_does_not_hang_the_call(clock: FakeClock) -> None:
    deps, observed = await session_deps(clock, None, FakeStt(clock, ["hello"]), FakeLlm(clock, []))
    deps = replace(deps, recorder=StalledRecorder(clock))
    call = FakeCall(clock, answers=1)
    session = CallSession(call, deps)
    started = clock.monotonic()
    outcome = await clock.run(session.run(), limit_s=200.0)

    assert outcome == "failed"
    assert_apologised(call, deps)
    assert observed.failures == [("store", "store-timeout")]
    # bounded: a few store deadlines (stage_timeout_s = 5 s), not the stalled write
    assert clock.monotonic() - started < 30.0


async def test_session_run_never_raises_when_only_the_end_is_refused(
    repo: CallRepository, clock: FakeClock
) -> None:
    stt = FakeStt(clock, ["Thanks, goodbye."])
    deps, observed = await session_deps(clock, repo, stt, FakeLlm(clock, []))
    call = FakeCall(clock, answers=1)
    session = CallSession(call, deps)

    async def refuse_at_goodbye() -> None:  # the store fails once the caller said goodbye
        while "goodbye" not in [e.kind for e in session.events]:
            await clock.sleep(0.01)
        refuse_inserts(repo, "call_events")

    watcher = asyncio.ensure_future(refuse_at_goodbye())
    outcome = await clock.run(session.run())
    watcher.cancel()

    assert outcome == "completed"  # the caller heard the goodbye: the call did complete
    assert observed.failures == [("store", "store-write-failed")]
    assert call.hung_up

"""Post-call scoring of every ended call against `appliance run` (the default config: the
demo clinic, the demo front desk, the scoring job in the supervisor): a booking, a clinic
question, a person request transferred to the demo desk and a caller who hangs up during
the greeting; each call has a row of every deterministic evaluator within 60 s of its
end, with the verdicts its kind calls for (the cut disclosure is flagged)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path

import pytest

from appliance.quality.evaluators import DEFAULT_EVALUATORS
from appliance.quality.scorer import scores_since
from appliance.store.db import Connection
from tests.e2e.conftest import Running
from tests.e2e.test_default_clinic import converse
from tests.e2e.workflow_support import Voice, dial, open_store

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
SCORED_WITHIN_S = 60.0
FAQ = "What time do you open on Saturday?"
EVALUATORS = {e.name for e in DEFAULT_EVALUATORS}

# kind -> evaluator -> (verdict, reason or None for any reason)
EXPECTED: dict[str, dict[str, tuple[str, str | None]]] = {
    "booking": {
        "ai-disclosure-within-10s": ("pass", "disclosure-in-time"),
        "identity-before-phi": ("pass", "identity-first"),
        "task-completion": ("pass", "in-schedule"),
        "transfer-outcome": ("n/a", "no-transfer"),
        "pci-pause-held": ("n/a", None),
    },
    "faq": {
        "ai-disclosure-within-10s": ("pass", "disclosure-in-time"),
        "identity-before-phi": ("n/a", None),
        "task-completion": ("n/a", "no-task-done"),
        "transfer-outcome": ("n/a", "no-transfer"),
    },
    "person": {
        "ai-disclosure-within-10s": ("pass", "disclosure-in-time"),
        "escalation-appropriateness": ("pass", "escalated:caller-request"),
        "transfer-outcome": ("pass", None),
    },
    "hang-up": {
        "ai-disclosure-within-10s": ("fail", "disclosure-cut"),
        "task-completion": ("n/a", "no-task-done"),
    },
}


@pytest.fixture(scope="module")
def voice(models_dir: Path) -> Voice:
    return Voice.load(models_dir)


def call_ids(running: Running) -> set[str]:
    db = open_store(running.var)
    try:
        return set(db.query(lambda c: [str(r[0]) for r in c.execute("SELECT call_id FROM calls")]))
    finally:
        db.close()


async def placed(running: Running, call: Awaitable[object]) -> tuple[str, float]:
    """The id of the one call `call` (a coroutine) placed, and when it ended (monotonic)."""
    before = call_ids(running)
    await call
    for _ in range(100):  # the call's end is written as the agent leaves it
        new = call_ids(running) - before
        if new and all(ended(running, c) for c in new):
            [call_id] = new
            return call_id, time.monotonic()
        await asyncio.sleep(0.1)
    raise AssertionError(f"the call did not end in the store: {new}")


def ended(running: Running, call_id: str) -> bool:
    db = open_store(running.var)
    try:
        return bool(db.query(_ended, call_id))
    finally:
        db.close()


def _ended(conn: Connection, call_id: str) -> bool:
    row = conn.execute("SELECT ended_at FROM calls WHERE call_id = ?", (call_id,)).fetchone()
    return row is not None and row[0] is not None


async def hang_up_in_the_greeting(running: Running) -> None:
    telephony, caller, recorder = await dial(running.uri)
    try:
        await asyncio.sleep(1.0)  # the disclosure is still being spoken
        await caller.call.hangup()
    finally:
        recorder.cancel()
        await telephony.stop()


async def person(running: Running, voice: Voice) -> None:
    telephony, caller, recorder = await dial(running.uri)
    try:
        await caller.agent_turn()
        line = "I'd rather talk to somebody at the front desk."
        await caller.speak(await asyncio.to_thread(voice.say, line))
        await asyncio.wait_for(caller.call.wait_ended(), 60)  # the agent left after REFER
    finally:
        recorder.cancel()
        await telephony.stop()


async def test_every_ended_call_is_scored_within_60_s(appliance: Running, voice: Voice) -> None:
    started = time.monotonic()
    seen = Watcher(appliance)
    booking = ["Hi, I'd like to book a checkup.", "John Smith.",
               "February third, nineteen ninety one.", "Next week, please.",
               "The first one, please.", "Yes, please book it."]  # fmt: skip
    calls = {
        "hang-up": await placed(appliance, hang_up_in_the_greeting(appliance)),
        "faq": await placed(appliance, converse(appliance, voice, [FAQ])),
        "person": await placed(appliance, person(appliance, voice)),
        "booking": await placed(appliance, converse(appliance, voice, booking)),
    }  # fmt: skip
    deadline = max(end for _, end in calls.values()) + SCORED_WITHIN_S
    while not set(seen.first) >= {c for c, _ in calls.values()} and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await seen.close()
    waited = {k: seen.first[c] - end for k, (c, end) in calls.items() if c in seen.first}
    rows = {k: seen.rows[c] for k, (c, _) in calls.items() if c in seen.rows}
    late = {k: calls[k][0] for k in calls if k not in waited}
    assert not late, f"not scored within {SCORED_WITHIN_S} s of the call's end: {late}"
    assert all(w <= SCORED_WITHIN_S for w in waited.values()), waited
    for kind, expected in EXPECTED.items():
        for evaluator, (verdict, reason) in expected.items():
            got_verdict, got_reason = rows[kind][evaluator]
            assert got_verdict == verdict, (kind, evaluator, rows[kind])
            assert reason is None or got_reason == reason, (kind, evaluator, rows[kind])
    print(f"scored after {waited} s; the test took {time.monotonic() - started:.0f} s")


class Watcher:
    """Reads the scores every second from the start; when each call first had a row of
    every deterministic evaluator (monotonic), and those rows."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.first: dict[str, float] = {}
        self.rows: dict[str, dict[str, tuple[str, str]]] = {}
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            got = await asyncio.to_thread(scored, self.running)
            now = time.monotonic()
            for call_id, rows in got.items():
                if call_id not in self.first and set(rows) >= EVALUATORS:
                    self.first[call_id], self.rows[call_id] = now, rows
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def scored(running: Running) -> dict[str, dict[str, tuple[str, str]]]:
    """call id -> evaluator -> (verdict, reason) of the newest rows."""
    db = open_store(running.var)
    try:
        out: dict[str, dict[str, tuple[str, str]]] = {}
        for r in scores_since(db, 0):
            out.setdefault(r.call_id, {})[r.evaluator] = (r.verdict, r.reason)
        return out
    finally:
        db.close()

"""A barge-in on a reply that reports a workflow action keeps the action (and the intent
the agent understood) on record; an intent that is not a code is never stored.

The clinic agent books before it speaks the confirmation; a caller talking over "Done.
Your appointment is ..." must not make the booking vanish from the call's events and the
audit log (post-call scoring checks bookings against the schedule from those events).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from appliance.conversation.session import CallSession
from appliance.domain import WorkflowAction
from appliance.ports import AgentAction, AgentReply, AgentTurn, Handoff
from appliance.store.calls import CallRepository
from tests.fakes import FakeCall, FakeClock, FakeStt, Speech, session_deps
from tests.unit.conftest import kinds
from tests.unit.test_conversation_barge_in import FAST, LONG_REPLY, first_reply_at

pytestmark = pytest.mark.unit


class Booking:
    """An agent plane whose first reply reports a booking, then plain answers."""

    def __init__(self) -> None:
        self.replies = 0

    def respond(self, turn: AgentTurn) -> AgentReply:
        self.replies += 1
        reply = AgentReply(text=_say(LONG_REPLY if self.replies == 1 else "Anything else?"))
        if self.replies == 1:
            reply.actions = [AgentAction(WorkflowAction.BOOK, "ok", "appt-1")]
            reply.intent = "book"
        else:  # a plane that put words where a code belongs: not stored
            reply.intent = "Maria Gonzalez"
        return reply

    async def hand_off(self, call_id: str, reason: str) -> Handoff:
        return Handoff(headers={})

    async def transfer_result(self, outcome: str) -> str | None:
        return None


async def _say(text: str) -> AsyncIterator[str]:
    yield text


@pytest.mark.parametrize("barge_in", [True, False])
async def test_a_barge_in_keeps_the_replys_workflow_actions(
    repo: CallRepository, barge_in: bool
) -> None:
    clock = FakeClock()
    stt = FakeStt(clock, ["Book me in please.", "Actually one more thing.", "bye"])
    deps, _ = await session_deps(clock, repo, stt, None, **FAST)
    deps = dataclasses.replace(deps, agent=Booking())
    speech = [Speech(first_reply_at(deps) + 1.0, 1.0)] if barge_in else []
    call = FakeCall(clock, speech, answers=2 if barge_in else 3)
    session = CallSession(call, deps)
    assert await clock.run(session.run()) == "completed"
    seen = kinds(session)
    assert ("barge-in" in seen) is barge_in
    assert seen.count("workflow-book") == 1, seen
    booked = [e for e in session.events if e.kind.value == "appointment"]
    assert [e.code for e in booked] == ["book:appt-1"]
    intents = [e for e in session.events if e.kind.value == "intent"]
    assert [(e.code, e.stage) for e in intents] == [("book", "workflow")]  # before its action
    assert seen.index("intent") < seen.index("workflow-book")

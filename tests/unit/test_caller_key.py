"""The caller's number reaches the agent plane and the store only as a keyed hash."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator

import pytest

from appliance.conversation.session import CallSession
from appliance.ports import AgentReply, AgentTurn, Handoff
from appliance.sip.transfer import caller_user
from appliance.store.calls import CallRepository
from appliance.store.pseudonyms import caller_hash
from tests.fakes import FakeCall, FakeClock, FakeStt, session_deps

pytestmark = pytest.mark.unit

KEY = b"c" * 32
INVITE = (
    "INVITE sip:clinic@10.0.0.2 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.9\r\n"
    'From: "Maria" <sip:+15550100001@10.0.0.9>;tag=abc\r\n'
    "To: <sip:clinic@10.0.0.2>\r\n\r\nv=0\r\n"
)


def test_the_from_user_is_read_from_the_invite() -> None:
    assert caller_user(INVITE) == "+15550100001"
    assert caller_user(INVITE.replace("From:", "f:")) == "+15550100001"
    assert caller_user("INVITE sip:x SIP/2.0\r\nTo: <sip:x@y>\r\n\r\n") == ""
    anonymous = INVITE.replace("sip:+15550100001@10.0.0.9", "sip:anonymous@anonymous.invalid")
    assert caller_user(anonymous) == "anonymous"


class Recording:
    """An agent plane that keeps the turns it was given."""

    def __init__(self) -> None:
        self.turns: list[AgentTurn] = []

    def respond(self, turn: AgentTurn) -> AgentReply:
        self.turns.append(turn)
        return AgentReply(text=_say("Okay."))

    async def hand_off(self, call_id: str, reason: str) -> Handoff:
        return Handoff(headers={})

    async def transfer_result(self, outcome: str) -> str | None:
        return None


async def _say(text: str) -> AsyncIterator[str]:
    yield text


async def test_the_session_hands_the_agent_and_the_store_a_keyed_hash(
    repo: CallRepository,
) -> None:
    clock = FakeClock()
    deps, _ = await session_deps(clock, repo, FakeStt(clock, ["hello there"]), None)
    agent = Recording()
    hasher = functools.partial(caller_hash, KEY)
    deps = dataclasses.replace(deps, agent=agent, caller_hash=hasher)
    call = FakeCall(clock, answers=1)
    await clock.run(CallSession(call, deps).run())
    expected = caller_hash(KEY, call.remote)
    assert [t.caller_key for t in agent.turns] == [expected]
    stored = repo._db.query(
        lambda conn: conn.execute("SELECT remote_hash FROM calls").fetchone()[0]
    )
    assert stored == expected and "5550100001" not in stored

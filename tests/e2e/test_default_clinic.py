"""The clinic agent as `make run` gives it, over real SIP: the default config (workflows,
rules-based understanding, the synthetic demo clinic seeded on start, the demo front desk,
the PCI pause), real models, a pjsua2 caller speaking Piper audio and Whisper reading the
agent's replies. Booking with identity across two turns, rescheduling, cancelling, a
clinic question and a person request (to the demo desk, with the packet on the screen-pop)
all reach their outcome in the store."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.model import Appointment
from appliance.workflows.handoff import validate
from tests.e2e.conftest import Running
from tests.e2e.workflow_support import Caller, ScreenPopListener, Voice, dial, open_store

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
TZ = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def voice(models_dir: Path) -> Voice:
    return Voice.load(models_dir)


# the agent asking the caller to say it again: a caller repeats the line, once
ASKED_AGAIN = re.compile(r"once more|didn't catch|another way")


async def converse(appliance: Running, voice: Voice, lines: list[str]) -> list[str]:
    """Place a call, say `lines` one per agent turn; what Whisper heard of each reply.

    Like a person on the phone, the caller says a line once more when the agent asks
    for it again (the line's audio can reach the agent with its first syllable lost, as
    on a real line: "Maria" was heard as "Berea" in one CI run); a second failure stands.
    """
    telephony, caller, recorder = await dial(appliance.uri)
    replies: list[str] = []
    try:
        await caller.agent_turn()  # the greeting and AI disclosure
        for line in lines:
            reply = await _say(caller, voice, line)
            if ASKED_AGAIN.search(reply):
                print(f"asked again after {line!r}: {reply!r}")
                reply = await _say(caller, voice, line)
            replies.append(reply)
        await caller.call.hangup()
    finally:
        await telephony.stop()
        recorder.cancel()
    return replies


async def _say(caller: Caller, voice: Voice, line: str) -> str:
    await caller.speak(await asyncio.to_thread(voice.say, line))
    await caller.agent_turn()
    pcm = bytes(caller.pcm)[caller.marks[-1] :]
    return re.sub(r"[^a-z0-9' ]+", " ", voice.text(pcm, 16_000).lower())


async def appointments(appliance: Running, patient: str) -> list[Appointment]:
    db = open_store(appliance.var)
    try:
        return await BuiltinSchedule(db, TZ).upcoming(patient)
    finally:
        db.close()


async def test_booking_with_identity_over_two_turns(appliance: Running, voice: Voice) -> None:
    before = await appointments(appliance, "synthetic-03")
    started = time.monotonic()
    replies = await converse(
        appliance,
        voice,
        [
            "Hi, I'd like to book a checkup.",
            "John Smith.",
            "February third, nineteen ninety one.",
            "Next week, please.",
            "The first one, please.",
            "Yes, please book it.",
        ],
    )
    after = await appointments(appliance, "synthetic-03")
    said = "\n".join(replies)
    assert len(after) == len(before) + 1, f"not booked; the agent said:\n{said}"
    assert "date of birth" in replies[1], said  # asked for the missing part, no failure
    assert "book" in replies[-1], said
    print(f"booking call: {time.monotonic() - started:.1f} s")


async def test_reschedule(appliance: Running, voice: Voice) -> None:
    [before] = await appointments(appliance, "synthetic-02")
    replies = await converse(
        appliance,
        voice,
        [
            "I need to move my appointment.",
            "My name is John Smith, born September thirtieth, nineteen seventy five.",
            "Next week, please.",
            "The first one.",
            "Yes.",
        ],
    )
    [after] = await appointments(appliance, "synthetic-02")
    assert after.id == before.id and after.start != before.start, "\n".join(replies)


async def test_cancel(appliance: Running, voice: Voice) -> None:
    assert await appointments(appliance, "synthetic-01"), "the demo seed gives Maria one"
    replies = await converse(
        appliance,
        voice,
        [
            "I need to cancel my appointment.",
            "Maria Gonzalez, April fourth, nineteen eighty two.",
            "Yes, cancel it.",
        ],
    )
    assert await appointments(appliance, "synthetic-01") == [], "\n".join(replies)
    assert "appointment on" in replies[-1], replies  # "Your appointment on ... is cancelled"


async def test_a_clinic_question_is_answered_without_identity(
    appliance: Running, voice: Voice
) -> None:
    [reply] = await converse(appliance, voice, ["What time do you open on Saturday?"])
    assert "saturday" in reply and ("9" in reply or "nine" in reply), reply
    assert "date of birth" not in reply, reply


@pytest.fixture
async def screenpop(appliance: Running) -> AsyncIterator[ScreenPopListener]:
    listener = ScreenPopListener(appliance.admin_port, appliance.var / "keys" / "screenpop.key")
    await asyncio.wait_for(listener.connected.wait(), 10)
    yield listener
    await listener.close()


async def test_a_person_request_is_transferred_to_the_demo_desk_with_the_packet(
    appliance: Running, voice: Voice, screenpop: ScreenPopListener
) -> None:
    telephony, caller, recorder = await dial(appliance.uri)
    try:
        await caller.agent_turn()
        line = "I'd rather talk to somebody at the front desk."
        await caller.speak(await asyncio.to_thread(voice.say, line))
        arrived = await _logged(appliance, '"reason": "caller-request"', 60)
        await asyncio.wait_for(caller.call.wait_ended(), 15)  # the agent left after REFER
    finally:
        recorder.cancel()
        await telephony.stop()
    packets: list[dict[str, Any]] = [
        p for _, p in screenpop.received if p["reason"] == "caller-request"
    ]
    assert packets, "no packet on the screen-pop"
    validate(packets[-1])
    assert packets[-1]["handoff_id"] in arrived


async def _logged(running: Running, text: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in running.log.read_text().splitlines():
            if "demo front desk: a transfer arrived" in line and text in line:
                return line
        await asyncio.sleep(0.2)
    raise AssertionError(f"no transfer at the demo desk\n{running.log.read_text()[-3000:]}")

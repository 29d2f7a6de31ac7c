"""End to end over SIP with the clinic workflows on (`appliance run`, real models, real
CPU LLM, the schedule imported from tests/assets/schedule): a caller books by voice; a
caller asks for a person and a pjsua2 front desk gets the transfer with the X-headers
after the screen-pop stream delivered the packet; a busy desk returns the caller to the
agent, who takes a message."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.scheduling.builtin import BuiltinSchedule
from appliance.workflows.handoff import validate
from appliance.workflows.handoff_store import HandoffStore
from tests.conftest import REPO, free_port
from tests.e2e.conftest import APPLIANCE, Running, wait_healthy
from tests.e2e.workflow_support import (
    ASSETS,
    Desk,
    ScreenPopListener,
    Voice,
    dial,
    open_store,
    workflow_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
TZ = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("clinic")
    var, config, log = root / "var", root / "appliance.toml", root / "appliance.log"
    desk_port = free_port()
    sip_port, admin_port = workflow_config(config, var, models_dir, desk_port)
    base = [*APPLIANCE, "--config", str(config)]
    imported = subprocess.run([*base, "schedule", "import", str(ASSETS / "schedule")],
                              capture_output=True, text=True, timeout=60, cwd=REPO)  # fmt: skip
    assert imported.returncode == 0, imported.stderr[-2000:]
    desk = Desk(desk_port)
    with log.open("wb") as out:
        proc = subprocess.Popen([*base, "run"], stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    running = Running(config, var, sip_port, admin_port, log, proc)
    running.desk = desk  # type: ignore[attr-defined]
    try:
        wait_healthy(running, timeout=240)
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert desk.close() == 0


@pytest.fixture(scope="module")
def voice(models_dir: Path) -> Voice:
    return Voice.load(models_dir)


@pytest.fixture
async def screenpop(clinic: Running) -> AsyncIterator[ScreenPopListener]:
    listener = ScreenPopListener(clinic.admin_port, clinic.var / "keys" / "screenpop.key")
    await asyncio.wait_for(listener.connected.wait(), 10)
    yield listener
    await listener.close()


def heard(voice: Voice, pcm: bytes, since: int = 0) -> str:
    return re.sub(r"[^a-z0-9' ]+", " ", voice.text(pcm[since:], 16_000).lower())


@pytest.mark.slow
async def test_a_caller_books_an_appointment_by_voice(clinic: Running, voice: Voice) -> None:
    started = time.monotonic()
    phrases = [
        "Hello, I would like to book an appointment. "
        "My name is John Smith, born September 30th, 1975.",
        "Friday morning, please.",
        "The first one, please.",
        "Yes, please book it.",
    ]
    telephony, caller, recorder = await dial(clinic.uri)
    try:
        await caller.agent_turn()  # the greeting
        for phrase in phrases:
            await caller.speak(await asyncio.to_thread(voice.say, phrase))
            await caller.agent_turn()
        await caller.call.hangup()
    finally:
        await telephony.stop()
        recorder.cancel()
    db = open_store(clinic.var)
    try:
        booked = await BuiltinSchedule(db, TZ).upcoming("p2")
    finally:
        db.close()
    last = heard(voice, bytes(caller.pcm), caller.marks[-1])
    assert len(booked) == 1, f"no appointment; the agent said last: {last!r}"
    assert booked[0].start.weekday() == 4 and booked[0].start.hour < 12  # Friday morning
    assert "book" in last and "friday" in last, last  # Whisper hears "your book for Friday"
    print(f"booking call took {time.monotonic() - started:.1f} s")


async def test_a_person_is_handed_over_with_the_packet_on_screen_first(
    clinic: Running, screenpop: ScreenPopListener, voice: Voice
) -> None:
    desk: Desk = clinic.desk  # type: ignore[attr-defined]
    desk.mode("answer")
    telephony, caller, recorder = await dial(clinic.uri)
    try:
        await caller.agent_turn()
        await caller.speak(await asyncio.to_thread(voice.say, "Can I talk to a real person?"))
        invite = await asyncio.to_thread(desk.next, "invite", 40)
        answered = await asyncio.to_thread(desk.next, "answered", 20)
        await asyncio.wait_for(caller.call.wait_ended(), 20)  # the agent left the call
    finally:
        await telephony.stop()
        recorder.cancel()
    assert not caller.call.remote_ended or caller.call.end_reason == "remote-hangup"
    [(popped_at, packet)] = [
        (t, p) for t, p in screenpop.received if p["reason"] == "caller-request"
    ]
    validate(packet)
    assert popped_at < answered["at"], "the packet reached the screen after the desk answered"
    headers = invite["headers"]
    assert headers["X-Appliance-Handoff"] == packet["handoff_id"]
    assert headers["X-Appliance-Reason"] == "caller-request"
    assert headers["X-Appliance-Call"] == packet["call_id"]
    assert "reason=caller-request" in headers["X-Appliance-Summary"]
    db = open_store(clinic.var)
    try:
        for _ in range(50):  # the outcome is written as the agent leaves the call
            [stored] = HandoffStore(db).packets(packet["call_id"])
            if stored.outcome is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        db.close()
    assert stored.outcome == "success" and json.loads(stored.packet) == packet
    assert 'appliance_transfers_total{outcome="success"} 1.0' in clinic.metrics()
    print(f"screen-pop {answered['at'] - popped_at:.2f} s before the desk answered")


async def test_a_busy_desk_returns_the_caller_to_the_agent_who_takes_a_message(
    clinic: Running, voice: Voice
) -> None:
    desk: Desk = clinic.desk  # type: ignore[attr-defined]
    desk.mode("busy")
    telephony, caller, recorder = await dial(clinic.uri)
    try:
        await caller.agent_turn()
        await caller.speak(await asyncio.to_thread(voice.say, "Can I talk to a real person?"))
        await asyncio.to_thread(desk.next, "invite", 40)
        await caller.agent_turn(quiet_s=2.5)  # "connect you", hold, then "busy ... message?"
        offer = heard(voice, bytes(caller.pcm), caller.marks[-1])
        message = "Yes, please call me back at 555 0142 about my appointment."
        await caller.speak(await asyncio.to_thread(voice.say, message))
        await caller.agent_turn()
        thanks = heard(voice, bytes(caller.pcm), caller.marks[-1])
        assert not caller.call.ended  # still with the agent
        call_ids = await asyncio.to_thread(clinic.calls)
        await caller.call.hangup()
    finally:
        await telephony.stop()
        recorder.cancel()
    assert "busy" in offer and "message" in offer, offer
    assert "message" in thanks and "call you back" in thanks, thanks
    db = open_store(clinic.var)
    try:
        store = HandoffStore(db)
        found = [m for c in call_ids for m in store.messages(c["call_id"])]
    finally:
        db.close()
    [taken] = found
    assert (taken.kind, taken.reason, taken.callback_number) == ("callback", "busy", "5550142")
    assert 'appliance_transfers_total{outcome="busy"} 1.0' in clinic.metrics()

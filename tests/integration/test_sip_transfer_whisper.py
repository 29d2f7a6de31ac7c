"""Attended transfer with a whisper, between real pjsua2 endpoints: the agent (this
process) calls the front desk (peer B) with the X-headers on the consultation INVITE,
plays the whisper to the desk on that leg, and only then refers its caller (peer A) with
Replaces. The desk reports, in the order it observed them, the first audio it heard on
each call and each INVITE it got."""

from __future__ import annotations

import asyncio
import queue
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.audio import resample
from appliance.conversation.events import CallEvents
from appliance.conversation.flows.transfer import TransferFlow
from appliance.conversation.flows.whisper import whisper_text
from appliance.conversation.prompts import Prompt
from appliance.conversation.settings import TransferPolicy
from appliance.domain import EventKind
from appliance.ports import Handoff
from appliance.services.app_db import MIGRATIONS
from appliance.services.runtime import SystemClock
from appliance.sip import PjsipCall
from appliance.sip.transfer import TransferResult
from appliance.speech.tts import PiperTts
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.fakes import Observed
from tests.integration.speech_support import model_path
from tests.integration.telephony_peer import _loud_part as loud_part
from tests.integration.telephony_peer import tone
from tests.integration.test_telephony import Peer, running, sip_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

HANDOFF = {"X-Appliance-Handoff": "0123456789abcdef", "X-Appliance-Reason": "caller-request"}
VOICE = "en_US-joe-medium"
WHISPER_HZ = 880.0  # the caller's peer plays 660 Hz and the desk's its own 440 Hz


def desk_events_until(desk: Peer, calls: int, within: float = 15.0) -> list[dict[str, Any]]:
    """The desk's events in arrival order until it reported `calls` INVITEs and heard
    audio on each of them."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            seen.append(desk.events.get(timeout=left))
        except queue.Empty:
            break
        invites = [e["call_id"] for e in seen if e["event"] == "call"]
        heard = {e["call_id"] for e in seen if e["event"] == "heard"}
        if len(invites) >= calls and heard >= set(invites):
            return seen
    raise AssertionError(f"desk events so far: {[e['event'] for e in seen]}")


async def test_the_desk_hears_the_whisper_before_the_caller_is_bridged() -> None:
    caller = Peer(
        *("--rtp-port", "49300", "--hangup-after", "15", "--accept-transfers"),
        *("--tone-hz", "660", "--tone-ms", "1500"),  # then it echoes what it hears
    )
    desk = Peer("--rtp-port", "49400", "--hangup-after", "4", "--no-echo", "--report-heard")
    try:
        async with running(sip_settings()) as telephony:
            call = await telephony.dial(caller.uri, timeout=5)
            assert isinstance(call, PjsipCall)
            await caller.anext("drained")
            whispered: list[bool] = []
            whisper = [tone(WHISPER_HZ, 600), tone(WHISPER_HZ, 600)]  # 1.2 s, as TTS chunks
            started = time.monotonic()
            result = await call.attended_transfer(
                desk.uri, HANDOFF, ring_s=10, within=10, whisper=whisper, whispered=whispered.append
            )
            assert result == TransferResult(True, 200, "answered")
            assert whispered == [True] and time.monotonic() - started >= 1.2  # played out
            seen = await asyncio.to_thread(desk_events_until, desk, 2)
            order = [(e["event"], e["call_id"]) for e in seen if "call_id" in e]
            consultation, replaced = [e for e in seen if e["event"] == "call"]
            assert consultation["headers"] == HANDOFF  # X-headers on the consultation INVITE
            assert replaced["call_id"] != consultation["call_id"]  # the caller, with Replaces
            # the desk heard the whisper on the consultation leg before the caller came in
            assert order.index(("heard", consultation["call_id"])) < order.index(
                ("call", replaced["call_id"])
            )
            ended = [e for e in seen if e["event"] == "ended"]
            while len(ended) < 2:
                ended.append(await desk.anext("ended", 15))
            whispered_to = next(e for e in ended if e["call_id"] == consultation["call_id"])
            assert abs(whispered_to["heard_hz"] - WHISPER_HZ) < 30  # it was the whisper
            assert whispered_to["heard_s"] >= 1.0
            bridged = next(e for e in ended if e["call_id"] == replaced["call_id"])
            assert abs(bridged["heard_hz"] - 660) < 30  # then the desk hears the caller
    finally:
        assert caller.close() == 0
        assert desk.close() == 0


class Agent:
    """The agent plane's side of a handoff (the clinic agent's shape) with a stored packet."""

    async def hand_off(self, call_id: str, reason: str) -> Handoff:
        packet = {"reason": "caller-request", "intent": "cancel", "caller": {"identified": False}}
        return Handoff(dict(HANDOFF), packet)

    async def transfer_result(self, outcome: str) -> str | None:
        return None if outcome == "success" else "The front desk is busy."


class Control:
    """Stands in for the session's CallControl: the real call, event stream and store."""

    def __init__(self, call: PjsipCall, repo: CallRepository) -> None:
        self._call, self._repo = call, repo
        self.call_id, self.clock = call.call_id, SystemClock()
        self.stream = CallEvents(call.call_id, repo, Observed(), self.clock)

    async def say(self, key: Prompt) -> None:  # the hold prompt, played to its end
        await self._call.play(tone(500, 3000))
        await self._call.drain()

    async def say_text(self, text: str) -> None:
        events = [(e.kind, e.code) for e in self._repo.events(self.call_id)]
        raise AssertionError(f"the caller was told {text!r}; events: {events}")

    def stop_audio(self) -> None:
        self._call.stop_playback()

    def emit(self, kind: EventKind, stage: str, code: str) -> None:
        self.stream.emit(kind, stage=stage, code=code)

    async def transfer(self, *args: Any) -> Any:
        return await self._call.transfer(*args)

    async def attended_transfer(self, *args: Any) -> Any:
        return await self._call.attended_transfer(*args)


async def test_transfer_flow_whispers_with_the_real_voice_over_sip(tmp_path: Path) -> None:
    """TransferFlow, attended: Piper synthesizes the whisper while the desk rings; the
    desk hears all of it on the consultation leg, then gets the caller; the store records
    whisper-played."""
    tts = PiperTts.load(model_path(VOICE), VOICE)
    db = Database.open(tmp_path / "calls.db", "ab" * 32, MIGRATIONS)
    caller = Peer("--rtp-port", "49500", "--hangup-after", "20", "--accept-transfers")
    desk = Peer("--rtp-port", "49600", "--hangup-after", "8", "--no-echo", "--report-heard")
    try:
        async with running(sip_settings()) as telephony:
            call = await telephony.dial(caller.uri, timeout=5)
            assert isinstance(call, PjsipCall)
            await caller.anext("drained")
            repo = CallRepository(db)
            await repo.start_call(call.call_id, time.time(), call.codec, "x")

            control = Control(call, repo)
            policy = TransferPolicy(desk.uri, "attended", True)
            flow = TransferFlow(control, Agent(), policy, tts.synthesize)  # type: ignore[arg-type]
            assert await flow.run("caller-request") is True
            await control.stream.flush()
            seen = await asyncio.to_thread(desk_events_until, desk, 2)
            consultation, replaced = [e for e in seen if e["event"] == "call"]
            assert consultation["headers"] == {**HANDOFF, "X-Appliance-Call": call.call_id}
            order = [(e["event"], e["call_id"]) for e in seen if "call_id" in e]
            assert order.index(("heard", consultation["call_id"])) < order.index(
                ("call", replaced["call_id"])
            )
            ended = [e for e in seen if e["event"] == "ended"]
            while consultation["call_id"] not in {e["call_id"] for e in ended}:
                ended.append(await desk.anext("ended", 15))
            whispered_to = next(e for e in ended if e["call_id"] == consultation["call_id"])
            expected = tts.synthesize_all(whisper_text("caller-request", "cancel", False))
            spoken = resample(expected.pcm, expected.rate, 16_000)
            spoken_s = len(loud_part(spoken)) / 2 / 16_000  # s of speech above -40 dBFS
            assert spoken_s > 2.0  # a sentence, not a blip
            assert whispered_to["loud_s"] >= 0.8 * spoken_s  # the desk heard all of it
            events = [(e.kind, e.code) for e in repo.events(call.call_id)]
            assert ("whisper-played", "caller-request") in events
            assert ("transfer-ok", "answered") in events
    finally:
        assert caller.close() == 0
        assert desk.close() == 0
        db.close()
        tts.close()

"""Reminder calls over real loopback SIP: the dialler's own pjsua2 endpoint calls a pjsua2
callee (tests/integration/telephony_peer.py, a subprocess) with the real Piper voice and
Silero end-of-turn detector. A number on the DNC list gets no INVITE; the allowed one is
dialled and the callee hears the disclosure, measured at the callee from answer.

The callee plays a 0.6 s tone ("Hello?") and then stays silent, so the heuristic takes
it for a person; it hangs up while being asked for the patient, so no speech-to-text
is needed (a stub at that seam)."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.audio import AudioChunk, resample
from appliance.config import Settings, load_settings
from appliance.domain import Transcript, Utterance
from appliance.outbound import templates as say
from appliance.outbound.dialler import Pacing
from appliance.outbound.reminder_call import Voice
from appliance.outbound.run import RunOptions, build_dialler, reminder_call
from appliance.services.runtime import SystemClock
from appliance.sip import PjsipCall, PjsipTelephony
from appliance.speech.tts import PiperTts
from appliance.speech.vad import SileroTurnDetector
from appliance.store.db import Database
from tests.conftest import store_config
from tests.integration.outbound_support import KEY as HASH_KEY
from tests.integration.outbound_support import NY, book, consent, ledger, open_store
from tests.integration.speech_support import model_path
from tests.integration.telephony_peer import _loud_part as loud_part
from tests.integration.test_telephony import Peer, running, sip_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

VOICE = "en_US-joe-medium"
WEDNESDAY = date(2026, 11, 25)
NOON_TUESDAY = datetime(2026, 11, 24, 12, 0, tzinfo=NY)  # a window is open in NY and LA
ANA, BEN = "+12125550144", "+13105550155"
CALLBACK = "555 010 0999"


class ShiftedClock(SystemClock):
    """Real time, with the wall clock moved to a Tuesday noon (the calling window)."""

    def __init__(self, at: datetime) -> None:
        self._offset = at.timestamp() - time.time()

    def time(self) -> float:
        return time.time() + self._offset


class Watched:
    """PjsipTelephony.place, keeping each call placed (for its answer time)."""

    def __init__(self, telephony: PjsipTelephony) -> None:
        self.telephony = telephony
        self.placed: list[PjsipCall] = []

    async def place(self, uri: str, headers: dict[str, str] | None = None) -> PjsipCall:
        call = await self.telephony.place(uri, headers)
        self.placed.append(call)
        return call


class NoWords:
    """The callee says nothing after its tone; were a turn heard, it carried no words."""

    async def transcribe(self, utterance: Utterance) -> Transcript:
        return Transcript("", "en", 0.0, 1.0, utterance.audio.duration)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(store_config(tmp_path, extra="[outbound]\nenabled = true\n"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "e2e.db")
    book(store, "a4", "p4", datetime(2026, 11, 25, 15, tzinfo=NY))
    book(store, "a5", "p5", datetime(2026, 11, 25, 16, tzinfo=NY))
    given = datetime(2026, 10, 1, tzinfo=NY)
    consent(ledger(store), "p4", ANA, given)
    consent(ledger(store), "p5", BEN, given)
    ledger(store).add_dnc(BEN, "front-desk", given.timestamp())
    yield store
    store.close()


def drain_events(peer: Peer) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        try:
            seen.append(peer.events.get(timeout=1.0))
        except queue.Empty:
            return seen


async def remind(
    settings: Settings, db: Database, *callee_args: str
) -> tuple[Any, list[dict[str, Any]], Watched, AudioChunk]:
    """One dialler run against a callee peer: its report, the callee's events, the
    calls placed, and the disclosure's audio."""
    tts = PiperTts.load(model_path(VOICE), VOICE)
    clock = ShiftedClock(NOON_TUESDAY)
    voice = Voice(tts, NoWords(), lambda: SileroTurnDetector(settings.vad), clock)
    callee = Peer("--rtp-port", "49700", "--no-echo", "--report-heard", *callee_args)
    try:
        talk = reminder_call(settings, db, voice, CALLBACK)
        await talk.prepare()
        async with running(sip_settings()) as telephony:
            line = Watched(telephony)
            options = RunOptions(WEDNESDAY, f"127.0.0.1:{callee.port}", CALLBACK, 0, Pacing())
            dialler = build_dialler(settings, db, HASH_KEY, (line, talk, clock), options)
            report = await dialler.run(WEDNESDAY)
        events = drain_events(callee)
        disclosure = tts.synthesize_all(say.disclosure(settings.clinic.name))
    finally:
        assert callee.close() == 0
        tts.close()
    return report, events, line, disclosure


def loud_s(audio: AudioChunk) -> float:
    return len(loud_part(resample(audio.pcm, audio.rate, 16_000))) / 2 / 16_000


async def test_only_the_allowed_number_is_dialled_and_hears_the_disclosure(
    settings: Settings, db: Database
) -> None:
    report, events, line, audio = await remind(settings, db, "--hangup-after", "9")
    invites = [e for e in events if e["event"] == "call"]
    assert len(invites) == 1 and len(line.placed) == 1  # BEN (DNC) got no INVITE
    assert [(a.appointment_id, a.outcome, a.result) for a in report.attempts] == [
        ("a4", "answered", "hung-up")
    ]
    assert report.not_dialled == {"a5": "dnc"}
    answered_at = line.placed[0].answered_at
    assert answered_at is not None
    heard = next(e for e in events if e["event"] == "heard")
    started_s = heard["now"] - answered_at  # at the callee, from answer
    print(f"disclosure heard {started_s:.2f} s after answer, {audio.duration:.2f} s long")
    assert 0.0 <= started_s <= 2.0
    assert started_s + audio.duration <= 10.0
    ended = next(e for e in events if e["event"] == "ended")
    assert loud_s(audio) > 2.0  # a sentence, not a blip
    assert ended["loud_s"] >= 0.8 * loud_s(audio)  # the callee heard all of it


async def test_a_long_greeting_gets_the_voicemail_message(settings: Settings, db: Database) -> None:
    """The callee's 'greeting' is a 6 s tone: a machine; the message follows it."""
    args = ("--tone-ms", "6000", "--hangup-after", "25")
    report, events, _, audio = await remind(settings, db, *args)
    assert [(a.appointment_id, a.outcome, a.result) for a in report.attempts] == [
        ("a4", "voicemail", "message-left")
    ]
    ended = next(e for e in events if e["event"] == "ended")
    assert ended["remote_ended"] is True  # we hung up after the message
    voicemail = PiperTts.load(model_path(VOICE), VOICE)
    try:
        message = voicemail.synthesize_all(say.voicemail(settings.clinic.name, CALLBACK))
    finally:
        voicemail.close()
    assert ended["loud_s"] >= 0.8 * (loud_s(audio) + loud_s(message))

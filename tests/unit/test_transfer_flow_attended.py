"""TransferFlow in attended mode, on virtual time with the real store: the whisper is
synthesized while the desk rings and played to the desk before the caller is bridged; a
TTS failure never blocks the transfer; a busy desk leaves the caller with the agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.conversation.events import CallEvents
from appliance.conversation.flows.transfer import WHISPER_TTS_S, TransferFlow
from appliance.conversation.flows.whisper import packet_whisper
from appliance.conversation.prompts import Prompt
from appliance.conversation.settings import TransferPolicy
from appliance.domain import EventKind
from appliance.observability.transfers import transfers
from appliance.ports import Handoff
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.fakes import ClockedRecorder, FakeClock, FakeTts, Observed, tone
from tests.fakes.transfer import TransferringCall

pytestmark = pytest.mark.unit

DESK = "sip:desk@127.0.0.1"
BUSY_SAY = "I'm sorry, the front desk is busy. Would you like to leave a message?"
PACKET: dict[str, Any] = {
    "handoff_id": "0" * 32,
    "reason": "caller-request",
    "intent": "reschedule",
    "stage": "choose-day",
    "caller": {"identified": True, "name": "Maria Gonzalez", "date_of_birth": "1980-04-12"},
    "slots": {"patient_name": "Maria Gonzalez", "reason": "call me at 555 0142"},
}


class Agent:
    """An agent plane that hands over PACKET (the clinic agent's shape)."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []

    async def hand_off(self, call_id: str, reason: str) -> Handoff:
        return Handoff({"X-Appliance-Handoff": PACKET["handoff_id"]}, PACKET)

    async def transfer_result(self, outcome: str) -> str | None:
        self.outcomes.append(outcome)
        return None if outcome == "success" else BUSY_SAY


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[CallRepository]:
    db = Database.open(tmp_path / "calls.db", "ab" * 32, MIGRATIONS)
    yield CallRepository(db)
    db.close()


class Run:
    """One TransferFlow on a fake call, through a stand-in for the session's CallControl
    (the real event stream and store); what the caller was told."""

    def __init__(self, clock: FakeClock, repo: CallRepository, call: TransferringCall) -> None:
        self.clock, self.repo, self.call = clock, repo, call
        self.said: list[Prompt] = []
        self.spoken: list[str] = []
        self.agent = Agent()
        recorder = ClockedRecorder(repo, clock)
        self.stream = CallEvents(call.call_id, recorder, Observed(), clock)
        self.call_id = call.call_id

    async def say(self, key: Prompt) -> None:
        self.said.append(key)
        await self.call.play(tone(2000))  # the cached prompt, played to its end
        await self.call.drain()

    async def say_text(self, text: str) -> None:
        self.spoken.append(text)

    def stop_audio(self) -> None:
        self.call.stop_playback()

    def emit(self, kind: EventKind, stage: str, code: str) -> None:
        self.stream.emit(kind, stage=stage, code=code)

    async def transfer(self, *args: Any) -> Any:
        return await self.call.transfer(*args)

    async def attended_transfer(self, *args: Any) -> Any:
        return await self.call.attended_transfer(*args)

    def flow(self, tts: FakeTts | None, mode: str = "attended", whisper: bool = True) -> Any:
        synthesize = tts.synthesize if tts is not None else FakeTts(self.clock).synthesize
        policy = TransferPolicy(DESK, mode, whisper and tts is not None)
        return TransferFlow(self, self.agent, policy, synthesize)  # type: ignore[arg-type]

    async def run(self, flow: TransferFlow, reason: str = "caller-request") -> bool:
        await self.repo.start_call(self.call.call_id, self.clock.time(), "PCMU", "x")
        left = await self.clock.run(flow.run(reason))
        await self.clock.run(self.stream.flush())
        return left

    def events(self) -> list[tuple[str, str | None]]:
        return [(e.kind, e.code) for e in self.repo.events(self.call.call_id)]


async def test_the_desk_hears_the_whisper_before_the_caller_is_bridged(
    repo: CallRepository,
) -> None:
    clock = FakeClock()
    call = TransferringCall(clock, status=200, ring_s=3.0)
    run, tts = Run(clock, repo, call), FakeTts(clock)
    before = transfers("success")
    assert await run.run(run.flow(tts)) is True
    sentence = packet_whisper(PACKET, "caller-request")
    assert tts.texts == [sentence]
    assert sentence == (
        "Transferring a caller who wants to reschedule an appointment; identity verified; "
        "they asked for a person."
    )
    assert call.desk_heard and sum(c.duration for c in call.desk_heard) == pytest.approx(
        0.3 * len(sentence.split())
    )  # FakeTts: 0.3 s a word, all of it
    assert call.whispered_at is not None and call.bridged_at is not None
    assert call.whispered_at <= call.bridged_at
    [(uri, headers)] = call.consultations
    assert uri == DESK and not call.transfers  # attended, not blind
    assert headers["X-Appliance-Handoff"] == PACKET["handoff_id"]
    # the caller kept hearing the hold prompt while the desk rang and listened (7.5 s)
    assert run.said == [Prompt.HOLD, Prompt.HOLD] and call.played
    assert transfers("success") == before + 1 and run.agent.outcomes == ["success"]
    events = run.events()
    assert ("whisper-played", "caller-request") in events
    assert events.index(("whisper-played", "caller-request")) < events.index(
        ("transfer-ok", "answered")
    )


async def test_a_tts_failure_transfers_without_a_whisper(repo: CallRepository) -> None:
    clock = FakeClock()
    call = TransferringCall(clock, status=200)
    run = Run(clock, repo, call)
    assert await run.run(run.flow(FakeTts(clock, fail_on="Transferring"))) is True
    assert call.consultations and not call.desk_heard and call.hung_up
    events = run.events()
    assert ("whisper-skipped", "tts-failed") in events
    assert ("transfer-ok", "answered") in events
    assert not any(kind == "whisper-played" for kind, _ in events)


async def test_a_stuck_tts_is_given_up_on_and_the_transfer_goes_on(
    repo: CallRepository,
) -> None:
    clock = FakeClock()
    call = TransferringCall(clock, status=200, ring_s=1.0)
    run = Run(clock, repo, call)
    start = clock.monotonic()
    assert await run.run(run.flow(FakeTts(clock, delay=60.0))) is True
    assert not call.desk_heard
    assert call.bridged_at is not None and call.bridged_at - start <= WHISPER_TTS_S + 0.1
    assert ("whisper-skipped", "whisper-tts-timeout") in run.events()


async def test_a_busy_desk_leaves_the_caller_who_is_offered_a_message(
    repo: CallRepository,
) -> None:
    clock = FakeClock()
    call = TransferringCall(clock, status=486)
    run, tts = Run(clock, repo, call), FakeTts(clock)
    busy = transfers("busy")
    assert await run.run(run.flow(tts)) is False
    assert not call.hung_up and not call.desk_heard
    assert transfers("busy") == busy + 1 and run.agent.outcomes == ["busy"]
    assert run.spoken == [BUSY_SAY]  # the caller is told and offered a message
    events = run.events()
    assert ("transfer-failed", "refused") in events
    assert not any(kind.startswith("whisper") for kind, _ in events)


async def test_whisper_off_and_blind_mode_play_nothing_to_the_desk(
    repo: CallRepository,
) -> None:
    clock = FakeClock()
    quiet = TransferringCall(clock, status=200)
    run, tts = Run(clock, repo, quiet), FakeTts(clock)
    assert await run.run(run.flow(tts, whisper=False)) is True
    assert quiet.consultations and not quiet.desk_heard and not tts.texts
    blind = TransferringCall(clock, status=200)
    blind.call_id = blind.call_id.__class__("fake-blind")
    run = Run(clock, repo, blind)
    assert await run.run(run.flow(tts, mode="blind")) is True
    assert blind.transfers and not blind.consultations and not tts.texts

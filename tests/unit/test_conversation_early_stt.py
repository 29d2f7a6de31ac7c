"""Speculative STT on virtual time: transcription starts at the first pause of a turn."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from appliance.audio import AudioChunk
from appliance.conversation.prompts import Prompt
from appliance.conversation.session import CallSession
from appliance.domain import Utterance
from tests.fakes import RATE, FakeCall, FakeClock, FakeDetector, FakeLlm, FakeStt, Speech
from tests.fakes import session_deps as fake_deps
from tests.unit.conftest import kinds

pytestmark = pytest.mark.unit


class TentativeDetector(FakeDetector):
    """FakeDetector (turn ends after 0.3 s of silence) that offers the turn after 0.1 s."""

    def __init__(self, clock: FakeClock, early_s: float = 0.1) -> None:
        super().__init__(clock)
        self._clock_ = clock
        self._early_s = early_s
        self._offered = False
        self._tentative: Utterance | None = None
        self.offered = 0

    def feed(self, chunk: AudioChunk) -> Utterance | None:
        final = super().feed(chunk)
        if any(chunk.pcm):
            self._offered = False
        elif final is None and self._active and not self._offered:
            silent = chunk.timestamp + chunk.duration - self._voice_end
            if silent >= self._early_s - 1e-9 and self._onset is not None:
                self._offered = True
                self.offered += 1
                audio = AudioChunk(bytes(self._audio), RATE, self._onset)
                now = self._clock_.monotonic()
                self._tentative = Utterance(audio, self._onset, self._voice_end, now)
        return final

    def tentative(self) -> Utterance | None:
        found, self._tentative = self._tentative, None
        return found


async def deps_with_tentatives(clock, repo, stt, llm):
    deps, observed = await fake_deps(clock, repo, stt, llm)
    detectors: list[TentativeDetector] = []

    def new_detector() -> TentativeDetector:
        detectors.append(TentativeDetector(clock))
        return detectors[-1]

    return dataclasses.replace(deps, new_detector=new_detector), observed, detectors


async def test_the_transcript_is_ready_when_the_turn_ends(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    deps, _, detectors = await deps_with_tentatives(
        clock, repo, stt, FakeLlm(clock, ["We are open weekdays."])
    )
    session = CallSession(FakeCall(clock, answers=2), deps)

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        "heard",
        "replied",
        "heard",
        "goodbye",
        "ended",
    ]
    assert stt.calls == 2  # once per turn: the speculative transcript was used
    caller = next(t for t in repo.turns("fake-call") if t.speaker == "caller")
    assert caller.timings["stt_early"] == 1.0
    # STT (0.1 s) ran from 0.1 s into the silence: done before the turn ended at 0.3 s
    assert caller.timings["stt_done"] == pytest.approx(caller.timings["end_of_turn"])
    assert caller.timings["end_of_turn"] == pytest.approx(0.3)
    assert detectors[0].offered == 2


async def test_a_caller_who_speaks_on_after_a_short_pause_is_transcribed_whole(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours on Saturday?", "bye"])
    llm = FakeLlm(clock, ["Nine to noon."])
    deps, _, detectors = await deps_with_tentatives(clock, repo, stt, llm)
    greeting = sum(c.duration for c in deps.cache.get(Prompt.GREETING))
    at = greeting + 0.2  # before the scripted caller would answer (0.5 s)
    # a 0.16 s pause: past the 0.1 s of the tentative turn, short of the 0.3 s turn end
    call = FakeCall(clock, [Speech(at, 0.6), Speech(at + 0.76, 0.6)], answers=1)
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        "heard",
        "replied",
        "heard",
        "goodbye",
        "ended",
    ]
    assert detectors[0].offered == 3  # the short pause, the turn's end, the goodbye's end
    assert stt.calls == 3  # the speculation at the short pause started, then was dropped
    caller = next(t for t in repo.turns("fake-call") if t.speaker == "caller")
    assert caller.text == "What are your hours on Saturday?"
    assert caller.timings["stt_early"] == 1.0  # the second pause's speculation was used
    [request] = llm.requests
    assert request[-1].content == "What are your hours on Saturday?"


async def test_speculation_is_matched_by_audio_not_by_jittery_times(clock) -> None:
    from appliance.conversation.early_stt import EarlyStt

    stt = FakeStt(clock, ["first", "second"])
    early = EarlyStt(stt)
    audio = AudioChunk(b"\x01\x02" * 800, RATE, 10.0)
    tentative = Utterance(audio, 10.0, 10.5, 10.8)
    same = Utterance(AudioChunk(audio.pcm, RATE, 10.003), 10.003, 10.504, 11.2)
    other = Utterance(AudioChunk(audio.pcm + b"\x00\x00", RATE, 10.0), 10.0, 10.5, 11.2)

    async def scenario() -> tuple[object, object]:
        early.offer(tentative)
        used = await early.take(same)  # chunk arrival jitter moved the times, not the audio
        early.offer(tentative)
        dropped = await early.take(other)
        return used, dropped

    used, dropped = await clock.run(scenario())
    assert getattr(used, "text", None) == "first"
    assert dropped is None and early.wasted == 1 and early.started == 2


class CommittingDetector(TentativeDetector):
    """... that also ends the turn at its pause when the session asks (semantic end)."""

    committed = 0  # turns ended by commit()

    def commit(self) -> Utterance | None:
        if not (self._active and self._offered) or self._onset is None:
            return None
        audio = AudioChunk(bytes(self._audio), RATE, self._onset)
        utterance = Utterance(audio, self._onset, self._voice_end, self._clock_.monotonic())
        self.reset()
        self._offered = False
        self.committed += 1
        return utterance


async def committing_session(clock, repo, lines: list[str], early_end: bool = True):
    stt = FakeStt(clock, lines)
    deps, _ = await fake_deps(clock, repo, stt, FakeLlm(clock, ["We are open weekdays."]))
    detectors: list[CommittingDetector] = []

    def new_detector() -> CommittingDetector:
        detectors.append(CommittingDetector(clock))
        return detectors[-1]

    vad = msgspec.structs.replace(deps.vad, early_end_of_turn=early_end)
    deps = dataclasses.replace(deps, new_detector=new_detector, vad=vad)
    return CallSession(FakeCall(clock, answers=2), deps), stt, detectors


async def test_a_complete_sentence_ends_the_turn_at_its_first_pause(repo, clock) -> None:
    session, stt, detectors = await committing_session(clock, repo, ["What are your hours?", "bye"])

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        "heard",
        "replied",
        "heard",
        "goodbye",
        "ended",
    ]
    assert stt.calls == 2  # the speculative transcript served both turns
    caller = next(t for t in repo.turns("fake-call") if t.speaker == "caller")
    # offered at 0.1 s of silence, transcribed by 0.2 s, ended there: not at 0.3 s
    assert caller.timings["eot_early"] == 1.0 and caller.timings["stt_early"] == 1.0
    assert caller.timings["end_of_turn"] == pytest.approx(0.2, abs=0.021)
    assert caller.timings["end_of_turn"] < 0.3
    assert detectors[0].committed == 1  # "bye" has no final mark: it waited the full silence


@pytest.mark.parametrize(
    ("line", "early_end"),
    [("I'd like to book an appointment with", True), ("What are your hours?", False)],
)
async def test_an_unfinished_sentence_or_the_setting_off_waits_the_full_silence(
    repo, clock, line: str, early_end: bool
) -> None:
    session, stt, detectors = await committing_session(clock, repo, [line, "bye"], early_end)

    assert await clock.run(session.run()) == "completed"
    caller = next(t for t in repo.turns("fake-call") if t.speaker == "caller")
    assert caller.timings["eot_early"] == 0.0
    assert caller.timings["end_of_turn"] == pytest.approx(0.3)
    assert detectors[0].committed == 0 and stt.calls == 2

"""The fast barge-in on virtual time: pause on the first voiced frames, then stop or resume."""

from __future__ import annotations

import asyncio

import pytest

from appliance.config import Conversation
from appliance.conversation.barge_in import Action, BargeInRule
from appliance.conversation.playout import Playout
from appliance.conversation.prompts import Prompt
from appliance.conversation.session import CallSession
from appliance.errors import SpeechToTextError
from tests.fakes import FakeCall, FakeLlm, FakeStt, Speech, session_deps, tone
from tests.unit.conftest import kinds

pytestmark = pytest.mark.unit

LONG_REPLY = (
    "We are open Monday to Friday from eight to five. "
    "On Saturdays a nurse line is open in the morning for urgent questions only."
)  # two sentences: 10 words (3.0 s of fake audio), then 14 words (4.2 s)
FAST = {"barge_in_pause_s": 0.06}


def first_reply_at(deps) -> float:
    """When the first reply's audio starts (s after answer); see test_conversation_turns."""
    greeting = sum(c.duration for c in deps.cache.get(Prompt.GREETING))
    return greeting + 0.5 + 1.0 + 0.3 + 0.1 + 0.2 + 0.18 + 0.05


async def test_fast_barge_in_stops_the_reply_within_the_pause_time(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "Actually, can I book a visit?", "bye"])
    llm = FakeLlm(clock, [LONG_REPLY, "Sure, which day suits you?"])
    deps, observed = await session_deps(clock, repo, stt, llm, **FAST)
    barge_at = first_reply_at(deps) + 2.0
    call = FakeCall(clock, [Speech(barge_at, 1.0)], answers=2)
    session = CallSession(call, deps)
    started = clock.monotonic()

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "barge-in-paused", "barge-in",
        "heard", "replied", "heard", "goodbye", "ended",
    ]  # fmt: skip
    # the audio stopped on the third voiced frame, not at the detector's 0.2 s
    first_stop = call.stops[0]
    assert first_stop - (started + barge_at) == pytest.approx(0.06, abs=0.021)
    assert call.spans[1][1] == pytest.approx(first_stop)  # nothing heard after it
    assert observed.stages["barge_in_stop"] == [pytest.approx(0.06, abs=0.021)]
    assert [m.content for m in llm.requests[1][1:]] == ["Actually, can I book a visit?"]
    assert stt.calls == 3  # the barge-in's words were transcribed once, while paused


async def test_backchannel_words_over_a_paused_reply_resume_it(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "Mm-hm, okay.", "bye"])
    llm = FakeLlm(clock, [LONG_REPLY, "Anything else?"])
    deps, _ = await session_deps(clock, repo, stt, llm, **FAST)
    at = first_reply_at(deps) + 1.0  # 1 s into the first sentence (3.0 s)
    call = FakeCall(clock, [Speech(at, 0.6)], answers=2)
    session = CallSession(call, deps)
    started = clock.monotonic()

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "barge-in-paused", "speech-ignored",
        "barge-in-resumed", "replied", "heard", "goodbye", "ended",
    ]  # fmt: skip
    assert session.events[5].code == "backchannel"
    assert len(llm.requests) == 1  # "mm-hm, okay" asked for no reply ...
    paused, resumed = call.spans[1], call.spans[2]
    assert paused[1] - (started + at) == pytest.approx(0.06, abs=0.021)
    # ... and the reply went on once the words were known (0.6 s + 0.3 s VAD + 0.1 s STT),
    # from the start of the cut sentence, to its end
    assert resumed[0] - (started + at) == pytest.approx(1.0, abs=0.041)
    assert resumed[1] - resumed[0] == pytest.approx(7.2)
    reply = [t for t in repo.turns("fake-call") if t.speaker == "agent"][1]
    assert reply.text == LONG_REPLY


async def test_noise_pauses_then_the_reply_resumes_from_the_cut_sentence(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    deps, observed = await session_deps(clock, repo, stt, FakeLlm(clock, [LONG_REPLY]), **FAST)
    cough_at = first_reply_at(deps) + 1.0  # 1 s into the first sentence (3.0 s)
    call = FakeCall(clock, [Speech(cough_at, 0.1)], answers=2)
    session = CallSession(call, deps)
    started = clock.monotonic()

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "barge-in-paused",
        "barge-in-resumed", "replied", "heard", "goodbye", "ended",
    ]  # fmt: skip
    assert stt.calls == 2  # the cough was never an utterance
    paused, resumed = call.spans[1], call.spans[2]
    assert paused[1] - (started + cough_at) == pytest.approx(0.06, abs=0.021)
    # resumed 0.2 s after the last voiced frame (barge_in_resume_s), from the start of
    # the cut sentence: the caller hears all of it, and the second sentence after it
    assert resumed[0] - (started + cough_at + 0.1) == pytest.approx(0.2, abs=0.021)
    assert resumed[1] - resumed[0] == pytest.approx(7.2)
    assert "barge_in_stop" not in observed.stages
    reply = [t for t in repo.turns("fake-call") if t.speaker == "agent"][1]
    assert reply.text == LONG_REPLY  # nothing was cancelled


async def test_speech_too_short_to_barge_in_resumes_after_the_utterance(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    deps, _ = await session_deps(
        clock, repo, stt, FakeLlm(clock, [LONG_REPLY]), barge_in_min_speech_s=0.3, **FAST
    )
    at = first_reply_at(deps) + 1.0
    call = FakeCall(clock, [Speech(at, 0.4)], answers=2)  # speech, below the barge-in minimum
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "barge-in-paused", "barge-in-resumed",
        "speech-ignored", "replied", "heard", "goodbye", "ended",
    ]  # fmt: skip
    assert session.events[6].code == "backchannel"
    assert stt.calls == 2
    assert call.spans[2][1] - call.spans[2][0] == pytest.approx(7.2)  # all of it, resumed


async def test_no_fast_pause_during_the_disclosure(repo, clock) -> None:
    stt = FakeStt(clock, ["goodbye"])
    deps, _ = await session_deps(clock, repo, stt, FakeLlm(clock, []), **FAST)
    call = FakeCall(clock, [Speech(2.0, 1.5)], answers=1)  # talks over the greeting
    session = CallSession(call, deps)
    assert await clock.run(session.run()) == "completed"
    assert "barge-in-paused" not in kinds(session)
    assert call.stopped_playback == 0


def test_rule_pauses_then_stops_when_the_vad_confirms() -> None:
    rule = BargeInRule(Conversation(barge_in_pause_s=0.06))
    frame = 0.02
    assert rule.update(False, True, frame, can_cut=True) is Action.NONE
    assert rule.update(False, True, frame, can_cut=True) is Action.NONE
    assert rule.update(False, True, frame, can_cut=True) is Action.PAUSE
    assert rule.update(False, True, frame, can_cut=True) is Action.NONE  # once
    assert rule.update(True, True, frame, can_cut=True) is Action.STOP  # the VAD confirmed
    assert rule.end_of_utterance() == (True, False)


def test_rule_resumes_after_an_unconfirmed_burst() -> None:
    rule = BargeInRule(Conversation(barge_in_pause_s=0.04, barge_in_resume_s=0.1))
    assert rule.update(False, True, 0.02, can_cut=True) is Action.NONE
    assert rule.update(False, True, 0.02, can_cut=True) is Action.PAUSE
    actions = [rule.update(False, False, 0.02, can_cut=True) for _ in range(5)]
    assert actions == [Action.NONE] * 4 + [Action.RESUME]
    # a new burst starts from zero: two voiced frames again before the next pause
    assert rule.update(False, True, 0.02, can_cut=True) is Action.NONE
    assert rule.update(False, True, 0.02, can_cut=True) is Action.PAUSE


def test_rule_never_pauses_protected_audio_or_when_off() -> None:
    rule = BargeInRule(Conversation(barge_in_pause_s=0.02))
    assert all(rule.update(True, True, 0.02, can_cut=False) is Action.NONE for _ in range(20))
    off = BargeInRule(Conversation(barge_in_pause_s=0.0))
    assert [off.update(False, True, 0.02, can_cut=True) for _ in range(3)] == [Action.NONE] * 3
    no_barge = BargeInRule(Conversation(barge_in=False, barge_in_pause_s=0.02))
    assert no_barge.update(True, True, 0.02, can_cut=True) is Action.NONE


async def test_playout_holds_the_unheard_audio_and_replays_the_cut_chunk(clock) -> None:
    call = FakeCall(clock)
    out = Playout(call, clock)
    one, two = tone(1000), tone(500)

    async def scenario() -> float | None:
        await out.play(one)
        await out.play(two)
        await clock.sleep(0.4)  # 0.4 s into the first chunk
        out.pause()
        await out.play(tone(300))  # queued while paused: held
        await clock.sleep(0.5)
        await out.resume()
        return await out.drain()

    start = clock.monotonic()
    first = await clock.run(scenario())
    assert first == pytest.approx(start)
    assert call.spans == [
        [start, pytest.approx(start + 0.4)],
        [pytest.approx(start + 0.9), pytest.approx(start + 0.9 + 1.0 + 0.5 + 0.3)],
    ]
    out.stop()
    assert not out.paused


async def test_caller_hangs_up_while_the_reply_is_paused(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?"])
    deps, observed = await session_deps(clock, repo, stt, FakeLlm(clock, [LONG_REPLY]), **FAST)
    at = first_reply_at(deps) + 1.0
    call = FakeCall(clock, [Speech(at, 1.0)], answers=1, hangup_at=at + 0.1)
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "caller-hung-up"
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        "heard",
        "barge-in-paused",
        "ended",
    ]
    assert observed.failures == [] and not call.hung_up
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []  # the paused reply, its drain and the LLM stream were all cancelled


async def test_stt_failing_on_a_barge_in_into_a_pause_ends_with_the_apology(repo, clock) -> None:
    failure = SpeechToTextError("stt-failed", "scripted failure")
    stt = FakeStt(clock, ["What are your hours?", failure])
    deps, observed = await session_deps(clock, repo, stt, FakeLlm(clock, [LONG_REPLY]), **FAST)
    at = first_reply_at(deps) + 1.0
    call = FakeCall(clock, [Speech(at, 1.0)], answers=1)
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "failed"
    assert kinds(session)[-4:] == ["barge-in-paused", "barge-in", "stage-failed", "ended"]
    assert observed.failures == [("stt", "stt-failed")]
    assert call.hung_up
    texts = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert texts[-1] == deps.cache.text(
        Prompt.APOLOGY
    )  # the caller heard the apology, not dead air


async def test_playout_forgets_stopped_audio(clock) -> None:
    call = FakeCall(clock)
    out = Playout(call, clock)

    async def scenario() -> float | None:
        await out.play(tone(1000))
        await clock.sleep(0.2)
        out.pause()
        out.stop()  # a barge-in: the cut reply's drain() never ran
        await clock.sleep(1.0)
        await out.play(tone(500))  # the next reply
        return await out.drain()

    start = clock.monotonic()
    first = await clock.run(scenario())
    assert first == pytest.approx(start + 1.2)  # the new audio's start, not the old one's

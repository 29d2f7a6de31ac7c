"""Turn-taking on virtual time: barge-in, protected audio, backchannels, filler, re-prompts."""

from __future__ import annotations

import asyncio

import pytest

from appliance.config import Conversation
from appliance.conversation.prompts import Prompt
from appliance.conversation.session import CallSession
from appliance.conversation.turn_taking import BargeInTracker, is_backchannel
from tests.fakes import FakeCall, FakeLlm, FakeStt, Speech, session_deps
from tests.unit.conftest import kinds

pytestmark = pytest.mark.unit

LONG_REPLY = (
    "We are open Monday to Friday from eight to five. "
    "On Saturdays a nurse line is open in the morning for urgent questions only."
)  # 24 words: 7.2 s of fake audio


def seconds_of(deps, key: Prompt) -> float:
    return sum(c.duration for c in deps.cache.get(key))


def first_reply_at(greeting_s: float) -> float:
    """When the first reply's audio starts (s after answer) with the default fakes.

    greeting + 0.5 caller waits + 1.0 caller speaks + 0.3 end of turn + 0.1 STT
    + 0.2 LLM + 9 token gaps x 0.02 (first sentence: 10 words) + 0.05 TTS.
    """
    return greeting_s + 0.5 + 1.0 + 0.3 + 0.1 + 0.2 + 0.18 + 0.05


async def test_barge_in_stops_the_reply_and_handles_the_new_utterance(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "Actually, can I book a visit?", "bye"])
    llm = FakeLlm(clock, [LONG_REPLY, "Sure, which day suits you?"])
    # the stop without the fast pause ([conversation] barge_in_pause_s = 0; the default
    # pause-then-stop is in test_conversation_barge_in.py)
    deps, observed = await session_deps(clock, repo, stt, llm, barge_in_pause_s=0.0)
    greeting_s = seconds_of(deps, Prompt.GREETING)
    barge_at = first_reply_at(greeting_s) + 2.0  # two seconds into the reply
    call = FakeCall(clock, [Speech(barge_at, 1.0)], answers=2)
    session = CallSession(call, deps)
    started = clock.monotonic()

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "barge-in", "heard", "replied",
        "heard", "goodbye", "ended"
    ]  # fmt: skip
    # playback stopped 0.2 s (the detector's minimum speech) after the caller began
    [stop] = call.stops
    assert stop - (started + barge_at) == pytest.approx(0.2, abs=0.021)
    assert observed.stages["barge_in_stop"] == [pytest.approx(0.2, abs=0.021)]
    reply_span = call.spans[1]
    assert reply_span[1] == pytest.approx(stop)  # the caller heard nothing after the stop
    # the cut reply is not in the history; the new utterance got its own reply
    second = llm.requests[1]
    assert [m.content for m in second[1:]] == ["Actually, can I book a visit?"]
    caller_turns = [t for t in repo.turns("fake-call") if t.speaker == "caller"]
    assert caller_turns[1].timings["barge_in_stop"] == pytest.approx(0.2, abs=0.021)


async def test_no_barge_in_during_the_disclosure(repo, clock) -> None:
    stt = FakeStt(clock, ["goodbye"])
    deps, _ = await session_deps(clock, repo, stt, FakeLlm(clock, []))
    call = FakeCall(clock, [Speech(2.0, 1.5)], answers=1)  # talks over the greeting
    session = CallSession(call, deps)
    started = clock.monotonic()

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered",
        "speech-ignored",
        "greeted",
        "disclosure-played",
        "heard",
        "goodbye",
        "ended",
    ]
    assert session.events[1].code == "protected-audio"
    assert call.stopped_playback == 0
    greeting = call.spans[0]
    assert greeting[1] - greeting[0] == pytest.approx(seconds_of(deps, Prompt.GREETING))
    assert greeting[0] == pytest.approx(started)
    assert stt.calls == 1  # the speech over the disclosure was not transcribed


async def test_short_noise_during_a_reply_does_not_interrupt(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    deps, _ = await session_deps(  # without the fast pause, as above
        clock,
        repo,
        stt,
        FakeLlm(clock, [LONG_REPLY]),
        barge_in_min_speech_s=0.3,
        barge_in_pause_s=0.0,
    )
    at = first_reply_at(seconds_of(deps, Prompt.GREETING)) + 2.0
    # 0.1 s: below the detector's minimum; 0.4 s: speech, but below the barge-in minimum
    call = FakeCall(clock, [Speech(at, 0.1), Speech(at + 2.0, 0.4)], answers=2)
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "speech-ignored", "replied", "heard",
        "goodbye", "ended"
    ]  # fmt: skip
    assert session.events[4].code == "backchannel"
    assert call.stopped_playback == 0
    reply = call.spans[1]
    assert reply[1] - reply[0] == pytest.approx(7.2)  # played to the end
    assert stt.calls == 2


async def test_backchannel_words_that_barge_in_get_no_reply(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "Mm-hm, okay.", "bye"])
    llm = FakeLlm(clock, [LONG_REPLY, "Anything else?"])
    deps, _ = await session_deps(clock, repo, stt, llm, barge_in_pause_s=0.0)  # as above
    at = first_reply_at(seconds_of(deps, Prompt.GREETING)) + 2.0
    call = FakeCall(clock, [Speech(at, 0.6), Speech(at + 4.0, 1.0)], answers=1)
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "barge-in", "speech-ignored", "heard",
        "goodbye", "ended"
    ]  # fmt: skip
    assert session.events[5].code == "backchannel"
    assert len(llm.requests) == 1  # "mm-hm, okay" asked for no reply


async def test_filler_plays_when_the_reply_is_late(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    llm = FakeLlm(clock, ["We are open weekdays."], delay=2.0)
    deps, observed = await session_deps(clock, repo, stt, llm)
    call = FakeCall(clock, answers=2, wait_s=2.0)  # waits out the filler, like `appliance call`
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        "heard",
        "filler",
        "replied",
        "heard",
        "goodbye",
        "ended",
    ]
    [heard, filler] = [e for e in session.events if e.kind in ("heard", "filler")][:2]
    # the filler started 1.2 s after the end of the speech ("heard": 0.3 s end of turn
    # + 0.1 s STT after it)
    assert filler.at - heard.at == pytest.approx(1.2 - 0.3 - 0.1)
    filler_audio = deps.cache.get(Prompt.FILLER)
    assert filler_audio and filler_audio[0] in call.played
    # the filler went out first; the reply followed it, so the first audio is the filler's
    assert observed.stages["turn_gap"] == [pytest.approx(1.2)]
    reply = [t for t in repo.turns("fake-call") if t.speaker == "agent"][1]
    assert reply.timings["filler"] == pytest.approx(1.2)
    # the reply's own first audio: 0.3 + 0.1 STT + 2.0 LLM + 3 token gaps + 0.05 TTS
    assert reply.timings["tts_first_audio"] == pytest.approx(2.51)


async def test_filler_repeats_while_the_reply_is_very_late(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    llm = FakeLlm(clock, ["We are open weekdays."], delay=4.5)
    deps, _ = await session_deps(clock, repo, stt, llm)
    # a patient caller: waits out the silence while the agent prepares the reply
    session = CallSession(FakeCall(clock, answers=2, wait_s=4.0), deps)
    assert await clock.run(session.run()) == "completed"
    # reply audio 0.3 + 0.1 + 4.5 + 0.06 + 0.05 s after the speech: fillers at 1.2 and
    # 1.2 + 0.6 (its audio) + 1.5 s of silence = 3.3 s; the next one would be at 5.4 s
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "heard", "filler", "filler", "replied", "heard",
        "goodbye", "ended"
    ]  # fmt: skip
    fillers = [e.at for e in session.events if e.kind == "filler"]
    assert fillers[1] - fillers[0] == pytest.approx(0.6 + 1.5)


async def test_filler_once_when_repeats_are_off(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    llm = FakeLlm(clock, ["We are open weekdays."], delay=5.0)
    deps, _ = await session_deps(clock, repo, stt, llm, filler_every_s=0.0)
    session = CallSession(FakeCall(clock, answers=2, wait_s=4.0), deps)
    assert await clock.run(session.run()) == "completed"
    assert kinds(session).count("filler") == 1


async def test_no_filler_when_the_reply_is_on_time(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    llm = FakeLlm(clock, ["We are open weekdays."], delay=0.6)  # reply audio at 1.11 s
    deps, _ = await session_deps(clock, repo, stt, llm)
    session = CallSession(FakeCall(clock, answers=2), deps)
    assert await clock.run(session.run()) == "completed"
    assert "filler" not in kinds(session)


async def test_silent_caller_is_reprompted_then_closed_politely(repo, clock) -> None:
    deps, observed = await session_deps(
        clock, repo, FakeStt(clock, []), FakeLlm(clock, []), reprompt_after_s=5.0, max_reprompts=2
    )
    call = FakeCall(clock)  # never says anything
    session = CallSession(call, deps)
    started = clock.monotonic()

    assert await clock.run(session.run()) == "no-response"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "reprompt", "reprompt", "closed-silent", "ended"
    ]  # fmt: skip
    assert call.hung_up and observed.outcomes == ["no-response"]
    greeting_s, reprompt_s = seconds_of(deps, Prompt.GREETING), seconds_of(deps, Prompt.REPROMPT)
    first = session.events[3].at - clock.EPOCH - started
    assert first == pytest.approx(greeting_s + 5.0)
    closed = session.events[5].at - clock.EPOCH - started
    assert closed == pytest.approx(greeting_s + 3 * 5.0 + 2 * reprompt_s)
    texts = [t.text for t in repo.turns("fake-call")]
    assert texts[-1] == deps.cache.text(Prompt.SILENCE_GOODBYE)


async def test_answer_after_a_reprompt_resets_the_count(repo, clock) -> None:
    stt = FakeStt(clock, ["Sorry, I'm here."])
    deps, _ = await session_deps(
        clock, repo, stt, FakeLlm(clock, ["Good."]), reprompt_after_s=5.0, max_reprompts=1
    )
    answer_at = seconds_of(deps, Prompt.GREETING) + 5.0 + seconds_of(deps, Prompt.REPROMPT) + 0.5
    call = FakeCall(clock, [Speech(answer_at, 1.0)])
    session = CallSession(call, deps)
    assert await clock.run(session.run()) == "no-response"
    assert kinds(session) == [
        "answered", "greeted", "disclosure-played", "reprompt", "heard", "replied", "reprompt",
        "closed-silent", "ended"
    ]  # fmt: skip


async def test_caller_hangs_up_mid_reply(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your hours?"])
    deps, observed = await session_deps(clock, repo, stt, FakeLlm(clock, [LONG_REPLY]))
    hang_at = first_reply_at(seconds_of(deps, Prompt.GREETING)) + 1.0
    call = FakeCall(clock, answers=1, hangup_at=hang_at)
    session = CallSession(call, deps)

    assert await clock.run(session.run()) == "caller-hung-up"
    assert kinds(session) == ["answered", "greeted", "disclosure-played", "heard", "ended"]
    assert observed.failures == [] and observed.outcomes == ["caller-hung-up"]
    assert not call.hung_up  # the caller went; the agent did not hang up on them
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


def test_backchannel_words() -> None:
    assert is_backchannel("Mm-hm.", 2)
    assert is_backchannel("okay, yeah", 2)
    assert not is_backchannel("okay yeah right", 2)
    assert not is_backchannel("wait, stop", 2)
    assert not is_backchannel("", 2)


def test_barge_in_tracker_counts_voiced_frames_only() -> None:
    tracker = BargeInTracker(Conversation(barge_in_min_speech_s=0.06))
    assert not tracker.update(True, True, 0.02, interruptible_audio=True)
    assert not tracker.update(True, False, 0.02, interruptible_audio=True)  # a pause
    assert not tracker.update(True, True, 0.02, interruptible_audio=True)
    assert tracker.update(True, True, 0.02, interruptible_audio=True)
    assert not tracker.update(True, True, 0.02, interruptible_audio=True)  # once
    assert tracker.end_of_utterance()
    for _ in range(10):  # over protected audio nothing fires
        assert not tracker.update(True, True, 0.02, interruptible_audio=False)
    assert not tracker.end_of_utterance()
    off = BargeInTracker(Conversation(barge_in=False))
    assert not off.update(True, True, 0.02, interruptible_audio=True)

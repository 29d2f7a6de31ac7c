"""The call session state machine on virtual time, with scripted fakes and the real store."""

from __future__ import annotations

import asyncio

import pytest

from appliance.conversation.prompts import Prompt
from appliance.conversation.session import CallSession, is_goodbye
from appliance.errors import ChatModelError, SpeechToTextError
from tests.fakes import FakeCall, FakeLlm, FakeStt, FakeTts, session_deps
from tests.unit.conftest import kinds

pytestmark = pytest.mark.unit


async def test_conversation_until_goodbye(repo, clock) -> None:
    stt = FakeStt(clock, ["What are your opening hours?", "Thanks, goodbye."])
    llm = FakeLlm(clock, ["We are open weekdays. Is there anything else?"])
    deps, observed = await session_deps(clock, repo, stt, llm)
    call = FakeCall(clock, answers=2)
    session = CallSession(call, deps)
    outcome = await clock.run(session.run())

    assert outcome == "completed"
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
    assert call.hung_up and call.stopped_playback == 0
    # greeting, reply (two sentences, the second queued while the first plays), goodbye
    assert len(call.spans) == 3
    assert deps.tts.texts == ["We are open weekdays.", "Is there anything else?"]
    # the LLM saw the system prompt and the caller's words
    assert llm.requests[0][0].role == "system"
    assert llm.requests[0][-1].content == "What are your opening hours?"
    turns = repo.turns("fake-call")
    assert [t.speaker for t in turns] == ["agent", "caller", "agent", "caller", "agent"]
    assert turns[0].text.startswith("You're speaking with the automated assistant of Test Clinic")
    assert turns[2].text == "We are open weekdays. Is there anything else?"
    assert observed.outcomes == ["completed"] and observed.active == 0
    assert "greeting_first_audio" in observed.stages
    # on virtual time the turn gap is exactly the sum of the scripted delays:
    # 0.3 end of turn + 0.1 STT + 0.2 LLM + 3 token gaps x 0.02 + 0.05 TTS
    assert observed.stages["turn_gap"] == [pytest.approx(0.71)]
    assert turns[2].timings["first_audio_out"] == pytest.approx(0.71)
    assert turns[2].timings["stt_done"] == pytest.approx(0.4)
    [summary] = repo.list_calls(5)
    assert summary.outcome == "completed" and summary.codec == "PCMU"


async def test_history_is_carried_between_turns(repo, clock) -> None:
    stt = FakeStt(clock, ["I need an appointment.", "Next Tuesday.", "bye"])
    llm = FakeLlm(clock, ["Which day suits you?", "Noted, the front desk will confirm."])
    deps, _ = await session_deps(clock, repo, stt, llm)
    await clock.run(CallSession(FakeCall(clock, answers=3), deps).run())
    second = llm.requests[1]
    assert [m.role for m in second] == ["system", "user", "assistant", "user"]
    assert second[2].content == "Which day suits you?"


@pytest.mark.parametrize(
    ("stt_lines", "llm_replies", "tts_fail", "stage", "code", "before"),
    [
        ([SpeechToTextError("stt-failed", "x")], [], None, "stt", "stt-failed", []),
        (["hello"], [ChatModelError("llm-timeout", "x")], None, "llm", "llm-timeout", ["heard"]),
        (["hello"], ["Sure thing. BROKEN sentence."], "BROKEN", "tts", "tts-failed", ["heard"]),
        ([RuntimeError("boom")], [], None, "appliance", "session-failed", []),
        (["hello"], [""], None, "llm", "llm-empty-reply", ["heard"]),
    ],
)
async def test_stage_failure_ends_with_apology(
    repo, clock, stt_lines, llm_replies, tts_fail, stage, code, before
) -> None:
    tts = FakeTts(clock, fail_on=tts_fail)
    stt, llm = FakeStt(clock, stt_lines), FakeLlm(clock, llm_replies)
    deps, observed = await session_deps(clock, repo, stt, llm, tts)
    call = FakeCall(clock, answers=1)
    session = CallSession(call, deps)
    outcome = await clock.run(session.run())

    assert outcome == "failed"
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        *before,
        "stage-failed",
        "ended",
    ]
    assert observed.failures == [(stage, code)]
    failed = [e for e in session.events if e.kind == "stage-failed"]
    assert [(e.stage, e.code) for e in failed] == [(stage, code)]
    assert call.hung_up and call.stopped_playback >= 1
    last = repo.turns("fake-call")[-1]
    assert last.speaker == "agent" and last.text == deps.cache.text(Prompt.APOLOGY)
    stored = [(e.kind, e.stage, e.code) for e in repo.events("fake-call")]
    assert stored == [(e.kind, e.stage, e.code) for e in session.events]  # the whole stream
    assert ("disclosure-played", "session", "offset-ms:0") in stored
    assert ("stage-failed", stage, code) in stored
    # the apology was really played out: the last span the caller heard is its full length
    apology_s = sum(c.duration for c in deps.cache.get(Prompt.APOLOGY))
    assert call.spans[-1][1] - call.spans[-1][0] == pytest.approx(apology_s)


async def test_llm_that_hangs_times_out_into_apology(repo, clock) -> None:
    llm = FakeLlm(clock, ["never"], delay=30.0)
    deps, observed = await session_deps(clock, repo, FakeStt(clock, ["hello"]), llm, timeout=0.9)
    call = FakeCall(clock, answers=1)
    session = CallSession(call, deps)
    assert await clock.run(session.run()) == "failed"
    # the filler (1.2 s after the speech) went out before the timeout (0.3 + 0.1 + 0.9 s)
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        "heard",
        "filler",
        "stage-failed",
        "ended",
    ]
    assert observed.failures == [("llm", "llm-timeout")]
    assert call.hung_up


async def test_silence_transcript_asks_again(repo, clock) -> None:
    deps, _ = await session_deps(clock, repo, FakeStt(clock, ["", "goodbye"]), FakeLlm(clock, []))
    call = FakeCall(clock, answers=2)
    session = CallSession(call, deps)
    assert await clock.run(session.run()) == "completed"
    assert kinds(session) == [
        "answered",
        "greeted",
        "disclosure-played",
        "not-heard",
        "heard",
        "goodbye",
        "ended",
    ]
    texts = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert deps.cache.text(Prompt.NOT_HEARD) in texts


def test_goodbye_words() -> None:
    assert is_goodbye("OK, goodbye!")
    assert is_goodbye("that's all, thanks")
    assert not is_goodbye("I'd like to book an appointment")


async def test_playback_longer_than_the_stage_timeout_is_not_a_failure(repo, clock) -> None:
    stt = FakeStt(clock, ["Tell me everything.", "bye"])
    reply = "One sentence. Another sentence. A third sentence. And a fourth."
    deps, observed = await session_deps(clock, repo, stt, FakeLlm(clock, [reply]), timeout=0.5)
    call = FakeCall(clock, answers=2)  # the reply takes 3.3 s to play out
    assert await clock.run(CallSession(call, deps).run()) == "completed"
    assert observed.failures == []


async def test_a_minute_long_call_runs_in_virtual_time(repo, clock) -> None:
    stt = FakeStt(clock, [f"Question number {i}." for i in range(12)])
    llm = FakeLlm(clock, ["Here is a fairly long answer to that question."] * 12)
    deps, observed = await session_deps(clock, repo, stt, llm)
    call = FakeCall(clock, answers=13)
    started = clock.monotonic()
    loop = asyncio.get_running_loop()
    real = loop.time()
    assert await clock.run(CallSession(call, deps).run()) == "completed"
    assert clock.monotonic() - started > 60.0
    assert loop.time() - real < 20.0  # generous: a few hundred ms on a quiet machine
    assert len(observed.stages["turn_gap"]) == 12

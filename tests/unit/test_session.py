"""The call session state machine with scripted fakes at the seams and the real store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from appliance.conversation.prompts import PromptCache, clinic_prompts
from appliance.conversation.session import CallSession, SessionDeps, is_goodbye
from appliance.errors import ChatModelError, SpeechToTextError
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.fakes import FakeCall, FakeClock, FakeDetector, FakeLlm, FakeStt, FakeTts, Observed

pytestmark = pytest.mark.unit

PROMPTS = clinic_prompts("Test Clinic", "weekdays 8 to 5")


@pytest.fixture
def repo(tmp_path: Path):
    db = Database.open(tmp_path / "calls.db", "ab" * 32)
    yield CallRepository(db)
    db.close()


async def make_deps(repo, stt, llm, tts=None, timeout=5.0) -> tuple[SessionDeps, Observed]:
    tts = tts or FakeTts()
    cache = PromptCache()
    await cache.prepare(tts, PromptCache.for_prompts(PROMPTS))
    observed = Observed()
    deps = SessionDeps(
        stt=stt,
        tts=tts,
        llm=llm,
        new_detector=FakeDetector,
        recorder=repo,
        prompts=PROMPTS,
        cache=cache,
        observer=observed,
        clock=FakeClock(),
        stage_timeout_s=timeout,
    )
    return deps, observed


def kinds(session: CallSession) -> list[str]:
    return [e.kind for e in session.events]


async def test_conversation_until_goodbye(repo) -> None:
    stt = FakeStt(["What are your opening hours?", "Thanks, goodbye."])
    llm = FakeLlm(["We are open weekdays. Is there anything else?"])
    deps, observed = await make_deps(repo, stt, llm)
    call = FakeCall()
    session = CallSession(call, deps)
    outcome = await session.run()

    assert outcome == "completed"
    assert kinds(session) == ["answered", "greeted", "heard", "replied", "heard", "ended"]
    assert call.hung_up
    # greeting, reply (two sentences -> two TTS chunks), goodbye
    assert len(call.segments) == 3
    assert deps.tts.texts[-2:] == ["We are open weekdays.", "Is there anything else?"]
    # the LLM saw the system prompt and the caller's words
    assert llm.requests[0][0].role == "system"
    assert llm.requests[0][-1].content == "What are your opening hours?"
    turns = repo.turns("fake-call")
    assert [t.speaker for t in turns] == ["agent", "caller", "agent", "caller", "agent"]
    assert turns[0].text.startswith("You're speaking with the automated assistant of Test Clinic")
    assert turns[2].text == "We are open weekdays. Is there anything else?"
    assert turns[2].timings["first_audio_out"] is not None
    assert observed.outcomes == ["completed"] and observed.active == 0
    assert "turn_gap" in observed.stages and "greeting_first_audio" in observed.stages
    [summary] = repo.list_calls(5)
    assert summary.outcome == "completed" and summary.codec == "PCMU"


async def test_history_is_carried_between_turns(repo) -> None:
    stt = FakeStt(["I need an appointment.", "Next Tuesday.", "bye"])
    llm = FakeLlm(["Which day suits you?", "Noted, the front desk will confirm."])
    deps, _ = await make_deps(repo, stt, llm)
    await CallSession(FakeCall(), deps).run()
    second = llm.requests[1]
    assert [m.role for m in second] == ["system", "user", "assistant", "user"]
    assert second[2].content == "Which day suits you?"


@pytest.mark.parametrize(
    ("stt_lines", "llm_replies", "tts_fail", "stage", "code"),
    [
        ([SpeechToTextError("stt-failed", "x")], [], None, "stt", "stt-failed"),
        (["hello"], [ChatModelError("llm-timeout", "x")], None, "llm", "llm-timeout"),
        (["hello"], ["Sure thing. BROKEN sentence."], "BROKEN", "tts", "tts-failed"),
        ([RuntimeError("boom")], [], None, "appliance", "session-failed"),
        (["hello"], [""], None, "llm", "llm-empty-reply"),
    ],
)
async def test_stage_failure_ends_with_apology(
    repo, stt_lines, llm_replies, tts_fail, stage, code
) -> None:
    tts = FakeTts(fail_on=tts_fail)
    deps, observed = await make_deps(repo, FakeStt(stt_lines), FakeLlm(llm_replies), tts)
    call = FakeCall()
    session = CallSession(call, deps)
    outcome = await session.run()

    assert outcome == "failed"
    assert observed.failures == [(stage, code)]
    failed = [e for e in session.events if e.kind == "stage-failed"]
    assert [(e.stage, e.code) for e in failed] == [(stage, code)]
    assert call.hung_up and call.stopped_playback >= 1
    last = repo.turns("fake-call")[-1]
    assert last.speaker == "agent" and last.text == PROMPTS.apology
    assert [(e.kind, e.stage, e.code) for e in repo.events("fake-call")] == [
        ("stage-failed", stage, code)
    ]
    # the apology was really played: the last segment is not empty
    assert call.segments[-1] > 0


async def test_llm_that_hangs_times_out_into_apology(repo) -> None:
    deps, observed = await make_deps(
        repo, FakeStt(["hello"]), FakeLlm(["never"], delay=30.0), timeout=0.2
    )
    call = FakeCall()
    outcome = await asyncio.wait_for(CallSession(call, deps).run(), 5.0)
    assert outcome == "failed"
    assert observed.failures == [("llm", "llm-timeout")]
    assert call.hung_up


async def test_caller_hangs_up_during_reply(repo) -> None:
    deps, observed = await make_deps(repo, FakeStt(["hello"]), FakeLlm(["slow"], delay=30.0))
    call = FakeCall()
    session = CallSession(call, deps)
    task = asyncio.create_task(session.run())
    while "heard" not in kinds(session):
        await asyncio.sleep(0.01)
    call.caller_hangs_up()
    outcome = await asyncio.wait_for(task, 5.0)
    assert outcome == "caller-hung-up"
    assert observed.failures == []
    # nothing of the session is left running
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


async def test_silence_transcript_asks_again(repo) -> None:
    deps, _ = await make_deps(repo, FakeStt(["", "goodbye"]), FakeLlm([]))
    call = FakeCall()
    session = CallSession(call, deps)
    assert await session.run() == "completed"
    assert "not-heard" in kinds(session)
    texts = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert PROMPTS.not_heard in texts


def test_goodbye_words() -> None:
    assert is_goodbye("OK, goodbye!")
    assert is_goodbye("that's all, thanks")
    assert not is_goodbye("I'd like to book an appointment")


async def test_playback_longer_than_the_stage_timeout_is_not_a_failure(repo) -> None:
    stt = FakeStt(["Tell me everything.", "bye"])
    reply = "One sentence. Another sentence. A third sentence. And a fourth."
    deps, observed = await make_deps(repo, stt, FakeLlm([reply]), timeout=0.15)
    call = FakeCall(realtime=True)  # the reply takes 0.4 s to play out
    assert await CallSession(call, deps).run() == "completed"
    assert observed.failures == []

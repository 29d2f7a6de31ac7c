"""Per-turn stage timings: stored on the turn and observed as Prometheus histograms."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import generate_latest

from appliance.conversation.session import CallSession
from appliance.observability.metrics import STAGES, Metrics
from appliance.services.runtime import MetricsObserver
from tests.fakes import FakeCall, FakeLlm, FakeStt, session_deps

pytestmark = pytest.mark.unit

# issue 4, item 6: each stage relative to the end of the caller's speech (the anchor)
TURN_STAGES = {
    "end_of_turn": "end_of_turn",
    "stt_done": "stt",
    "llm_first_token": "llm_first_token",
    "first_sentence": "first_sentence",
    "tts_first_audio": "tts_first_audio",
    "reply_audio_out": "reply_audio_out",
    "first_audio_out": "turn_gap",
}


@pytest.mark.parametrize("late", [False, True])
async def test_every_stage_is_stored_on_the_turn_and_observed(repo, clock, late: bool) -> None:
    stt = FakeStt(clock, ["What are your hours?", "bye"])
    llm = FakeLlm(clock, ["We are open weekdays."], delay=2.0 if late else 0.2)
    deps, observed = await session_deps(clock, repo, stt, llm)
    metrics = Metrics()
    prometheus = MetricsObserver(metrics)

    class Both:  # the unit test's recorder and the real Prometheus observer
        def __getattr__(self, name: str):
            def both(*args: object) -> None:
                getattr(observed, name)(*args)
                getattr(prometheus, name)(*args)

            return both

    deps = dataclasses.replace(deps, observer=Both())
    call = FakeCall(clock, answers=2, wait_s=2.0)  # waits out the filler, like `appliance call`
    assert await clock.run(CallSession(call, deps).run()) == "completed"

    reply = [t for t in repo.turns("fake-call") if t.speaker == "agent"][1]
    caller = next(t for t in repo.turns("fake-call") if t.speaker == "caller")
    for stored, stage in TURN_STAGES.items():
        value = reply.timings[stored]
        assert isinstance(value, float), stored
        assert observed.stages[stage] == [pytest.approx(value)], stage
    assert caller.timings["stt_done"] == reply.timings["stt_done"]
    assert isinstance(caller.timings["stt_no_speech_prob"], float)
    order = [reply.timings[k] for k in list(TURN_STAGES)[:-1]]
    assert order == sorted(order)  # each stage after the one before
    # the reply's own audio: 0.3 end of turn + 0.1 STT + LLM delay + 3 token gaps + 0.05 TTS
    assert reply.timings["reply_audio_out"] == pytest.approx(0.3 + 0.1 + llm._delay + 0.06 + 0.05)
    if late:  # the filler went out first: turn_gap is the filler's, 1.2 s after the speech
        assert reply.timings["first_audio_out"] == pytest.approx(1.2)
        assert observed.stages["filler"] == [pytest.approx(1.2)]
    else:
        assert reply.timings["first_audio_out"] == pytest.approx(reply.timings["reply_audio_out"])
        assert "filler" not in observed.stages
    text = generate_latest(metrics.registry).decode()
    for stage in set(TURN_STAGES.values()):
        assert stage in STAGES
        assert f'appliance_stage_seconds_count{{stage="{stage}"}} 1.0' in text, stage

"""Each ended call's trace: OpenTelemetry spans from the event stream, kept in the store.

The session on the virtual clock with a real store: the spans nest call > turn > stt /
invoke_agent > execute_tool / tts / playout, carry the GenAI and voice attributes, mark a
turn cut by a barge-in, and go with their call when it is purged. No attribute can carry
words: only known keys with numbers, booleans or short codes are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from appliance.conversation.session import CallSession
from appliance.domain import EventKind, SessionEvent
from appliance.observability.call_trace import AgentInfo, SpanRow, call_spans, safe_attributes
from appliance.services.traces import StoredTraces
from appliance.store.calls import CallRepository
from appliance.store.spans import SpanStore
from tests.fakes import FakeCall, FakeClock, FakeStt, Speech, session_deps
from tests.unit.test_barge_in_keeps_actions import Booking
from tests.unit.test_conversation_barge_in import FAST, first_reply_at

pytestmark = pytest.mark.unit


class ClockedTraces:
    """The real sink, with virtual time held while the store's thread writes."""

    def __init__(self, inner: StoredTraces, clock: FakeClock) -> None:
        self._inner, self._clock = inner, clock

    async def record(self, call_id: str, events: Sequence[SessionEvent]) -> None:
        with self._clock.busy():
            await self._inner.record(call_id, events)


async def _traced_call(repo: CallRepository, barge_in: bool) -> tuple[CallSession, list[SpanRow]]:
    clock = FakeClock()
    stt = FakeStt(clock, ["Book me in please.", "Actually one more thing.", "bye"])
    deps, _ = await session_deps(clock, repo, stt, None, **FAST)
    tracer = ClockedTraces(StoredTraces(repo._db, AgentInfo()), clock)
    deps = dataclasses.replace(deps, agent=Booking(), tracer=tracer)
    speech = [Speech(first_reply_at(deps) + 1.0, 1.0)] if barge_in else []
    call = FakeCall(clock, speech, answers=2 if barge_in else 3)
    session = CallSession(call, deps)
    assert await clock.run(session.run()) == "completed"
    return session, await SpanStore(repo._db).of_call(call.call_id)


def _children(spans: list[SpanRow], parent: SpanRow) -> list[str]:
    return [s.name for s in spans if s.parent_id == parent.span_id]


async def test_a_calls_spans_nest_and_carry_the_stage_attributes(repo: CallRepository) -> None:
    _, spans = await _traced_call(repo, barge_in=False)
    [call] = [s for s in spans if s.parent_id is None]
    assert call.name == "call" and call.attributes["appliance.call.outcome"] == "completed"
    assert {s.trace_id for s in spans} == {call.trace_id}
    turns = [s for s in spans if s.name == "turn"]
    assert len(turns) == 3  # three caller turns (the last one: goodbye)
    assert _children(spans, call).count("greeting") == 1
    first = turns[0]
    stages = {s.name: s for s in spans if s.parent_id == first.span_id}
    assert set(stages) == {"stt", "invoke_agent", "tts", "playout"}
    pipeline = [stages[n].start_ns for n in ("stt", "invoke_agent", "tts", "playout")]
    assert pipeline == sorted(pipeline)  # in the order of the pipeline
    [agent] = [s for s in spans if s.parent_id == first.span_id and s.name == "invoke_agent"]
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    [tool] = [s for s in spans if s.parent_id == agent.span_id]
    assert tool.name == "execute_tool book"
    assert tool.attributes["gen_ai.tool.name"] == "book"
    assert tool.attributes["appliance.outcome"] == "ok"
    assert first.attributes["voice.interrupted"] is False
    gap = first.attributes["voice.turn_gap_s"]
    assert isinstance(gap, float) and 0 < gap < 2
    for span in spans:  # every child inside its parent
        parent = next((p for p in spans if p.span_id == span.parent_id), None)
        assert span.start_ns <= span.end_ns
        if parent is not None:
            assert parent.start_ns <= span.start_ns and span.end_ns <= parent.end_ns, span.name


async def test_a_turn_cut_by_a_barge_in_is_marked_interrupted(repo: CallRepository) -> None:
    _, spans = await _traced_call(repo, barge_in=True)
    first = next(s for s in spans if s.name == "turn")
    assert first.attributes["voice.interrupted"] is True
    assert "playout" not in _children(spans, first)  # the reply was never spoken to the end
    assert any(s.name == "execute_tool book" for s in spans)  # ... but its booking was made


async def test_spans_go_with_their_call(repo: CallRepository) -> None:
    _, spans = await _traced_call(repo, barge_in=False)
    call_id = "fake-call"
    assert spans
    repo._db.execute(lambda c: c.execute("DELETE FROM turns WHERE call_id = ?", (call_id,)))
    repo._db.execute(lambda c: c.execute("DELETE FROM call_events WHERE call_id = ?", (call_id,)))
    repo._db.execute(lambda c: c.execute("DELETE FROM calls WHERE call_id = ?", (call_id,)))
    assert await SpanStore(repo._db).of_call(call_id) == []


def test_attributes_keep_only_known_keys_numbers_and_codes() -> None:
    said = "Maria Gonzalez 1982-04-04"
    kept = safe_attributes(
        {
            "appliance.outcome": said,  # words (spaces): dropped
            "appliance.transfer.reason": "caller-request",
            "voice.turn_gap_s": 0.8,
            "voice.interrupted": False,
            "caller.text": "ok",  # unknown key: dropped
            "appliance.code": "x" * 65,  # too long for a code: dropped
        }
    )
    assert kept == {
        "appliance.transfer.reason": "caller-request",
        "voice.turn_gap_s": 0.8,
        "voice.interrupted": False,
    }


def test_a_transfer_and_a_failed_stage_show_in_the_trace() -> None:
    t0 = 1_800_000_000.0
    events = [
        SessionEvent("c1", EventKind.ANSWERED, t0),
        SessionEvent("c1", EventKind.HEARD, t0 + 5, timings={"stt_done": 0.4}),
        SessionEvent("c1", EventKind.WORKFLOW_TRANSFER, t0 + 5.5, "workflow", "caller-request"),
        SessionEvent("c1", EventKind.REPLIED, t0 + 7, timings={"stt_done": 0.4}),
        SessionEvent("c1", EventKind.TRANSFER_REQUESTED, t0 + 7, code="caller-request"),
        SessionEvent("c1", EventKind.TRANSFER_FAILED, t0 + 27, code="busy"),
        SessionEvent("c1", EventKind.STAGE_FAILED, t0 + 28, "tts", "tts-failed"),
        SessionEvent("c1", EventKind.ENDED, t0 + 29, code="failed"),
    ]
    spans = call_spans(events, AgentInfo("llm", "qwen2.5-0.5b"))
    call = spans[0]
    assert call.name == "call" and call.status == "ERROR"
    assert call.attributes["appliance.code"] == "tts-failed"
    [transfer] = [s for s in spans if s.name == "transfer"]
    assert transfer.attributes == {
        "appliance.transfer.reason": "caller-request",
        "appliance.outcome": "busy",
    }
    assert transfer.end_ns - transfer.start_ns == 20 * 10**9
    [chat] = [s for s in spans if s.name == "chat"]
    assert chat.attributes["gen_ai.request.model"] == "qwen2.5-0.5b"
    assert call_spans([], AgentInfo()) == []


async def test_the_waterfall_prints_children_under_their_parent(repo: CallRepository) -> None:
    import re

    from appliance.cli.trace import waterfall

    _, spans = await _traced_call(repo, barge_in=False)
    lines = waterfall(spans)
    assert len(lines) == len(spans)
    parsed = [re.fullmatch(r"\s*(\d+) ms\s+(\d+) ms  ( *)(\S+(?: \w+)?).*", line) for line in lines]
    assert all(parsed), lines
    tree = [(len(m.group(3)) // 2, m.group(4)) for m in parsed if m]
    assert tree[0] == (0, "call")
    assert (1, "greeting") in tree and (1, "turn") in tree
    at = tree.index((3, "execute_tool book"))
    assert tree[at - 1] == (2, "invoke_agent")  # right under its parent

"""The spans of one call, built with the OpenTelemetry SDK from the call's event stream.

When a call ends its events (kinds, stage timings, codes: never words) are turned into a
trace: `call` > `greeting`, one `turn` per caller turn > `stt` / the agent (`invoke_agent`
for the clinic workflows, `chat` for an LLM) > `execute_tool <action>` per workflow
action / `tts` / `playout`, and `transfer` and `pci_pause` spans. Names and attributes
follow the GenAI semantic conventions where they apply (`gen_ai.operation.name`,
`gen_ai.request.model`, `gen_ai.tool.name`) and the appliance's own `voice.*` attributes
(end-of-turn delay, turn gap, interrupted, filler). The spans stay on the box: they are
returned as rows for the encrypted store, never exported.

Every attribute passes `safe_attributes`: known keys only, numbers, booleans or short
codes; anything else (a caller's words included) is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, Status, StatusCode

from appliance.domain import EventKind, SessionEvent

ALLOWED = frozenset(
    {
        "appliance.call.outcome", "appliance.agent", "appliance.code", "appliance.stage",
        "appliance.disclosure_offset_ms", "appliance.stt.early", "appliance.outcome",
        "appliance.transfer.reason", "appliance.pci.mode",
        "gen_ai.operation.name", "gen_ai.request.model", "gen_ai.agent.name",
        "gen_ai.tool.name", "gen_ai.tool.type",
        "voice.end_of_turn_delay_s", "voice.turn_gap_s", "voice.interrupted", "voice.filler",
        "voice.first_audio_s", "voice.barge_in_stop_s",
    }
)  # fmt: skip
_CODE = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
_TURN_START = frozenset({EventKind.HEARD})
_TURN_END = frozenset({EventKind.REPLIED, EventKind.BARGE_IN})


@dataclass(frozen=True, slots=True)
class SpanRow:
    """One finished span, as stored (ids in hex, times in UNIX ns)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    status: str  # "UNSET" | "OK" | "ERROR"
    attributes: dict[str, str | int | float | bool]


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """What answered the call: "workflows" (the clinic agent) or "llm", and its model."""

    kind: str = "workflows"
    model: str = ""


def safe_attributes(attrs: Mapping[str, object]) -> dict[str, str | int | float | bool]:
    """Known keys with numbers, booleans or short codes; everything else dropped."""
    kept: dict[str, str | int | float | bool] = {}
    for key, value in attrs.items():
        if key not in ALLOWED or value is None:
            continue
        if isinstance(value, bool | int | float) or (
            isinstance(value, str) and _CODE.fullmatch(value)
        ):
            kept[key] = value
    return kept


class _Collected(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class _Builder:
    def __init__(self, events: Sequence[SessionEvent], agent: AgentInfo) -> None:
        self.events, self.agent = list(events), agent
        self.collected = _Collected()
        provider = TracerProvider(resource=Resource({"service.name": "appliance-agent"}))
        provider.add_span_processor(SimpleSpanProcessor(self.collected))
        self.tracer = provider.get_tracer("appliance.conversation")

    def span(
        self, name: str, parent: Span | None, start: float, end: float, **attrs: object
    ) -> Span:
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(
            name, context=context, start_time=_ns(start), attributes=safe_attributes(attrs)
        )
        span.end(end_time=_ns(max(start, end)))
        return span

    def build(self) -> list[ReadableSpan]:
        if not self.events:
            return []
        first, last = self.events[0], self.events[-1]
        ended = last.code if last.kind is EventKind.ENDED else None
        call = self.tracer.start_span(
            "call",
            context=Context(),
            start_time=_ns(first.at),
            attributes=safe_attributes(
                {"appliance.call.outcome": ended, "appliance.agent": self.agent.kind}
            ),
        )
        failed = [e for e in self.events if e.kind is EventKind.STAGE_FAILED]
        if failed:
            call.set_status(Status(StatusCode.ERROR, failed[0].code or "failed"))
            call.set_attributes(
                safe_attributes(
                    {"appliance.code": failed[0].code, "appliance.stage": failed[0].stage}
                )
            )
        self._greeting(call)
        for i, event in enumerate(self.events):
            if event.kind in _TURN_START:
                self._turn(call, i)
        self._paired(call, EventKind.TRANSFER_REQUESTED, _TRANSFER_ENDS, "transfer")
        self._paired(call, EventKind.PCI_PAUSE_START, {EventKind.PCI_PAUSE_END}, "pci_pause")
        call.end(end_time=_ns(max(last.at, first.at)))
        return self.collected.spans

    def _greeting(self, call: Span) -> None:
        greeted = next((e for e in self.events if e.kind is EventKind.GREETED), None)
        disclosure = next((e for e in self.events if e.kind is EventKind.DISCLOSURE_PLAYED), None)
        if greeted is None:
            return
        first_audio = greeted.timings.get("first_audio_out")
        self.span(
            "greeting",
            call,
            self.events[0].at,
            greeted.at,
            **{
                "voice.first_audio_s": first_audio,
                "appliance.disclosure_offset_ms": disclosure.code if disclosure else None,
            },
        )

    def _turn(self, call: Span, start: int) -> None:
        heard = self.events[start]
        following = self.events[start + 1 :]
        end_at = next(
            (j for j, e in enumerate(following) if e.kind in _TURN_END or e.kind in _TURN_START),
            None,
        )
        closing = following[end_at] if end_at is not None else self.events[-1]
        nxt = next((j for j, e in enumerate(following) if e.kind in _TURN_START), len(following))
        inside = following[:nxt]  # the turn's actions are recorded once its reply was spoken
        replied = closing if closing.kind is EventKind.REPLIED else None
        interrupted = closing.kind is EventKind.BARGE_IN
        t = (replied or heard).timings
        anchor = heard.at - (heard.timings.get("stt_done") or 0.0)
        turn = self.span(
            "turn",
            call,
            anchor,
            closing.at,
            **{
                "voice.end_of_turn_delay_s": t.get("end_of_turn"),
                "voice.turn_gap_s": t.get("first_audio_out"),
                "voice.interrupted": interrupted,
                "voice.filler": t.get("filler") is not None,
                "voice.barge_in_stop_s": t.get("barge_in_stop"),
            },
        )
        self._stages(turn, anchor, t, inside, closing.at)

    def _stages(
        self,
        turn: Span,
        anchor: float,
        t: Mapping[str, float | None],
        inside: Sequence[SessionEvent],
        end: float,
    ) -> None:
        def at(key: str) -> float | None:
            value = t.get(key)
            return None if value is None else anchor + value

        stt_done = at("stt_done") or anchor
        self.span(
            "stt", turn, anchor, stt_done, **{"appliance.stt.early": t.get("stt_early") == 1.0}
        )
        thought = at("first_sentence") or at("llm_first_token") or stt_done
        agent = self.span(
            "chat" if self.agent.kind == "llm" else "invoke_agent",
            turn,
            stt_done,
            thought,
            **self._agent_attributes(),
        )
        for event in inside:
            if event.kind.value.startswith("workflow-"):
                action = event.kind.value.removeprefix("workflow-")
                self.span(
                    f"execute_tool {action}",
                    agent,
                    stt_done,
                    thought,
                    **{
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": action,
                        "gen_ai.tool.type": "function",
                        "appliance.outcome": event.code,
                    },
                )
        audio = at("tts_first_audio")
        if audio is not None:
            self.span("tts", turn, thought, audio)
        out = at("first_audio_out")
        if out is not None:
            self.span("playout", turn, out, end, **{"voice.filler": t.get("filler") is not None})

    def _agent_attributes(self) -> dict[str, Any]:
        if self.agent.kind == "llm":
            return {"gen_ai.operation.name": "chat", "gen_ai.request.model": self.agent.model}
        return {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "clinic-workflows"}

    def _paired(self, call: Span, begin: EventKind, ends: set[EventKind], name: str) -> None:
        for i, event in enumerate(self.events):
            if event.kind is not begin:
                continue
            end = next((e for e in self.events[i + 1 :] if e.kind in ends), self.events[-1])
            key = "appliance.transfer.reason" if name == "transfer" else "appliance.pci.mode"
            self.span(
                name, call, event.at, end.at, **{key: event.code, "appliance.outcome": end.code}
            )


_TRANSFER_ENDS = {EventKind.TRANSFER_OK, EventKind.TRANSFER_FAILED}


def call_spans(events: Sequence[SessionEvent], agent: AgentInfo) -> list[SpanRow]:
    """The call's spans, parents before children; [] for a call without events."""
    rows = [_row(span) for span in _Builder(events, agent).build()]
    return sorted(rows, key=lambda r: (r.start_ns, r.parent_id is not None))


def _row(span: ReadableSpan) -> SpanRow:
    ctx = span.context
    assert ctx is not None
    parent = span.parent
    return SpanRow(
        trace_id=f"{ctx.trace_id:032x}",
        span_id=f"{ctx.span_id:016x}",
        parent_id=f"{parent.span_id:016x}" if parent is not None and parent.is_valid else None,
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        status=span.status.status_code.name,
        attributes=safe_attributes(dict(span.attributes or {})),
    )


def tree_order(spans: Sequence[SpanRow]) -> list[SpanRow]:
    """Parents before their children, siblings by start (the waterfall's order)."""
    by_parent: dict[str | None, list[SpanRow]] = {}
    for span in sorted(spans, key=lambda s: s.start_ns):
        by_parent.setdefault(span.parent_id, []).append(span)
    ordered: list[SpanRow] = []

    def walk(parent: str | None) -> None:
        for child in by_parent.get(parent, []):
            ordered.append(child)
            walk(child.span_id)

    walk(None)
    return ordered

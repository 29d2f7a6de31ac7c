"""A call's trace as a waterfall of server-rendered bars (no script): each span's offset
and width as percentages of the trace's length, in the tree order `appliance db trace`
prints (appliance/cli/trace.py). Spans carry names, times and codes only (no PHI)."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.observability.call_trace import SpanRow, safe_attributes, tree_order
from appliance.store.db import Database
from appliance.store.spans import SpanStore


@dataclass(frozen=True, slots=True)
class Bar:
    name: str
    depth: int  # 0 for the call span, its children 1, ...
    start_ms: float  # after the trace's first span started
    took_ms: float
    left_pct: float  # CSS left / width of the bar, in % of the trace's length
    width_pct: float
    status: str  # UNSET | OK | ERROR
    attributes: tuple[tuple[str, str], ...]  # sorted (key, value) pairs


def bars(spans: list[SpanRow]) -> list[Bar]:
    """The spans in tree order, scaled to the trace's span of time."""
    if not spans:
        return []
    t0 = min(s.start_ns for s in spans)
    total = max(max(s.end_ns for s in spans) - t0, 1)
    depth: dict[str | None, int] = {None: -1}
    out = []
    for span in tree_order(spans):
        depth[span.span_id] = depth.get(span.parent_id, -1) + 1
        took = max(span.end_ns - span.start_ns, 0)
        left = 100.0 * (span.start_ns - t0) / total
        width = max(100.0 * took / total, 0.2)  # a visible sliver for an instant
        out.append(
            Bar(
                span.name,
                depth[span.span_id],
                (span.start_ns - t0) / 1e6,
                took / 1e6,
                round(min(left, 99.8), 2),
                round(min(width, 100.0 - min(left, 99.8)), 2),
                span.status,
                tuple((k, str(v)) for k, v in sorted(safe_attributes(span.attributes).items())),
            )
        )
    return out


def call_bars(db: Database, call_id: str) -> list[Bar]:
    """Blocking (the routes run in a thread)."""
    return bars(SpanStore(db).of_call_now(call_id))

"""`appliance db trace CALL_ID`: the call's spans as a waterfall (metadata only, no PHI).

Each line: the span's start after the call's start, its duration, its name indented
under its parent, its attributes (codes, numbers, booleans). --json gives the rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from appliance.config import Settings
from appliance.errors import StoreError
from appliance.observability.call_trace import SpanRow, tree_order
from appliance.services.app_db import MIGRATIONS
from appliance.store.bootstrap import open_database
from appliance.store.spans import SpanStore


def waterfall(spans: list[SpanRow]) -> list[str]:
    """One line per span, children under their parent, times in ms from the first."""
    if not spans:
        return []
    t0 = min(s.start_ns for s in spans)
    depth: dict[str | None, int] = {None: -1}
    lines = []
    for span in tree_order(spans):
        depth[span.span_id] = depth.get(span.parent_id, -1) + 1
        start = (span.start_ns - t0) / 1e6
        took = (span.end_ns - span.start_ns) / 1e6
        attrs = " ".join(f"{k}={v}" for k, v in sorted(span.attributes.items()))
        status = "" if span.status == "UNSET" else f" [{span.status}]"
        indent = "  " * depth[span.span_id]
        lines.append(f"{start:>9.0f} ms {took:>8.0f} ms  {indent}{span.name}{status}  {attrs}")
    return lines


def print_trace(settings: Settings, call_id: str, *, as_json: bool) -> int:
    db = open_database(settings, MIGRATIONS)
    try:
        spans = SpanStore(db).of_call_now(call_id)
    finally:
        db.close()
    if not spans:
        raise StoreError("store-no-trace", "no trace for that call id")
    if as_json:
        print(json.dumps([asdict(s) for s in spans], indent=2))
    else:
        print("\n".join(waterfall(spans)))
    return 0

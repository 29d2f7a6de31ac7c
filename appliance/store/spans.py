"""The call_spans table: each ended call's trace (appliance/observability/call_trace.py).

Spans are metadata (names, times, codes; never words) but belong to their call: they are
deleted with it by the retention purge (ON DELETE CASCADE; foreign keys are on). Its
migration's number is `SPANS_VERSION` (appliance.services.app_db puts it in the
application's order).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from appliance.observability.call_trace import SpanRow, safe_attributes
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

SPANS_VERSION = 11  # the user_version this migration leaves (the only number to change)

SPANS_MIGRATION = Migration(
    SPANS_VERSION,
    """
    CREATE TABLE call_spans (
        call_id     TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        trace_id    TEXT NOT NULL,
        span_id     TEXT NOT NULL,
        parent_id   TEXT,
        name        TEXT NOT NULL,
        start_ns    INTEGER NOT NULL,   -- UNIX ns
        end_ns      INTEGER NOT NULL,
        status      TEXT NOT NULL,      -- UNSET | OK | ERROR
        attributes  TEXT NOT NULL,      -- JSON object: codes, numbers, booleans only
        PRIMARY KEY (call_id, span_id)
    );
    """,
)


class SpanStore:
    """Writes and reads the spans of calls."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, call_id: str, spans: Sequence[SpanRow]) -> None:
        if spans:
            await self._db.run(_insert, call_id, list(spans))

    async def of_call(self, call_id: str) -> list[SpanRow]:
        return await self._db.run_query(_select, call_id)

    def of_call_now(self, call_id: str) -> list[SpanRow]:
        """Blocking (the command line)."""
        return self._db.query(_select, call_id)


def _insert(conn: Connection, call_id: str, spans: list[SpanRow]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO call_spans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                call_id, s.trace_id, s.span_id, s.parent_id, s.name, s.start_ns, s.end_ns,
                s.status, json.dumps(safe_attributes(s.attributes), sort_keys=True),
            )
            for s in spans
        ],
    )  # fmt: skip


def _select(conn: Connection, call_id: str) -> list[SpanRow]:
    rows = conn.execute(
        "SELECT trace_id, span_id, parent_id, name, start_ns, end_ns, status, attributes"
        " FROM call_spans WHERE call_id = ? ORDER BY start_ns, parent_id IS NOT NULL",
        (call_id,),
    )
    return [
        SpanRow(
            trace_id=r[0], span_id=r[1], parent_id=r[2], name=r[3], start_ns=r[4],
            end_ns=r[5], status=r[6], attributes=json.loads(r[7]),
        )
        for r in rows
    ]  # fmt: skip

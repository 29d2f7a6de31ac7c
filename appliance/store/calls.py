"""Calls, turns and call events in the encrypted store.

Transcript text lives only here. Writes are async (worker thread); reads are blocking,
for the CLI and the admin app (which runs them off the event loop itself).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from appliance.errors import StoreError
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

SPEAKERS = frozenset({"caller", "agent"})
MAX_LIST = 1000
CRASHED = "worker-crashed"  # audit reason of a call its worker's crash left open


@dataclass(frozen=True, slots=True)
class CallSummary:
    call_id: str
    started_at: float  # UNIX s
    ended_at: float | None  # UNIX s; None while the call is in progress
    duration: float | None  # s; None while the call is in progress
    codec: str
    outcome: str | None
    turn_count: int


@dataclass(frozen=True, slots=True)
class TurnRecord:
    call_id: str
    seq: int  # 1, 2, ... within the call
    speaker: str  # "caller" | "agent"
    text: str  # PHI: never log
    started_at: float  # UNIX s
    ended_at: float  # UNIX s
    timings: dict[str, float | None]  # s relative to the end of caller speech
    stt_confidence: float | None


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Metadata only: what happened, never what was said."""

    call_id: str
    kind: str
    stage: str | None
    code: str | None
    at: float  # UNIX s


class CallRepository:
    """Implements appliance.ports.CallRecorder, plus reads for the CLI and admin.

    Call start, call end and call events also append audit records (metadata only) in
    the same transaction as the write they describe.
    """

    def __init__(self, db: Database, worker: int | None = None) -> None:
        """`worker`: the agent worker (`agent --worker N`) recorded on the calls this
        repository starts, whose left-open calls `close_orphans` ends (None: an agent
        without `--worker`; the CLI and admin start no calls)."""
        self._db = db
        self._worker = worker

    def _audit(self, conn: Connection, event: AuditEvent) -> None:
        append_audit(conn, event, self._db.audit_signer, self._db.audit_checkpoint_every)

    async def start_call(
        self, call_id: str, started_at: float, codec: str, remote_hash: str
    ) -> None:
        await self._db.run(self._start_call, call_id, started_at, codec, remote_hash)

    def _start_call(
        self, conn: Connection, call_id: str, started_at: float, codec: str, remote_hash: str
    ) -> None:
        _insert_call(conn, (call_id, started_at, codec, remote_hash, self._worker))
        self._audit(conn, _call_event("call.start", call_id, started_at, "ok", None))

    async def add_turn(
        self,
        call_id: str,
        speaker: str,
        text: str,
        started_at: float,
        ended_at: float,
        timings: dict[str, float | None],
        stt_confidence: float | None = None,
    ) -> int:
        """Append a turn; returns its sequence number within the call (1, 2, ...)."""
        speaker = str(speaker)
        if speaker not in SPEAKERS:
            raise StoreError("store-bad-speaker", f"speaker must be one of {sorted(SPEAKERS)}")
        row = (call_id, speaker, text, started_at, ended_at, _timings_json(timings), stt_confidence)
        return await self._db.run(_insert_turn, row)

    async def end_call(self, call_id: str, ended_at: float, outcome: str) -> None:
        await self._db.run(self._end_call, call_id, ended_at, outcome)

    def _end_call(self, conn: Connection, call_id: str, ended_at: float, outcome: str) -> None:
        _end_call(conn, call_id, ended_at, outcome)
        self._audit(conn, _call_event("call.end", call_id, ended_at, "ok", outcome))

    def mark_interrupted(self, at: float) -> list[str]:
        """End every call still open (a crash or kill -9 left it so) with the outcome
        "interrupted", audited; for start-up, before any agent takes calls (blocking).
        Returns the call ids."""
        return self._db.execute(self._mark_interrupted, at)

    def _mark_interrupted(self, conn: Connection, at: float) -> list[str]:
        open_calls = conn.execute(
            "SELECT call_id FROM calls WHERE ended_at IS NULL ORDER BY started_at, rowid"
        ).fetchall()
        return self._interrupt(conn, [str(row[0]) for row in open_calls], at, "interrupted")

    def close_orphans(self, at: float) -> list[str]:
        """End the calls this worker's previous process left open (killed mid-call:
        kill -9, OOM, watchdog) with the outcome "interrupted", audited as `call.end`
        failed, reason "worker-crashed"; for the worker's start, before it takes calls
        (blocking). The calls of other workers are never touched. Returns the call ids."""
        return self._db.execute(self._close_orphans, at)

    def _close_orphans(self, conn: Connection, at: float) -> list[str]:
        open_calls = conn.execute(
            "SELECT call_id FROM calls WHERE ended_at IS NULL AND worker IS ?"
            " ORDER BY started_at, rowid",
            (self._worker,),
        ).fetchall()
        return self._interrupt(conn, [str(row[0]) for row in open_calls], at, CRASHED)

    def _interrupt(self, conn: Connection, ids: list[str], at: float, reason: str) -> list[str]:
        for call_id in ids:
            _end_call(conn, call_id, at, "interrupted")
            self._audit(conn, _call_event("call.end", call_id, at, "failed", reason))
        return ids

    async def add_event(
        self,
        call_id: str,
        kind: str,
        stage: str | None,
        code: str | None,
        at: float,
        audited: bool = True,
    ) -> None:
        await self._db.run(self._add_event, call_id, kind, stage, code, at, audited)

    def _add_event(
        self,
        conn: Connection,
        call_id: str,
        kind: str,
        stage: str | None,
        code: str | None,
        at: float,
        audited: bool,
    ) -> None:
        _insert_event(conn, call_id, kind, stage, code, at)
        if not audited:
            return
        failed = "failed" in kind
        event = _call_event(f"call.{kind}", call_id, at, "failed" if failed else "ok", code)
        self._audit(conn, AuditEvent(**{**asdict(event), "component": stage or "session"}))

    # --- reads (blocking; CLI and admin) ---------------------------------------

    def list_calls(self, limit: int = 20) -> list[CallSummary]:
        """The most recent calls first."""
        if not 1 <= limit <= MAX_LIST:
            raise StoreError("store-bad-limit", f"limit must be in 1..{MAX_LIST}")
        return [_summary(row) for row in self._db.query(_select_calls, limit)]

    def turns(self, call_id: str) -> list[TurnRecord]:
        return [_turn(row) for row in self._db.query(_select_turns, call_id)]

    def events(self, call_id: str) -> list[CallEvent]:
        return [CallEvent(*row) for row in self._db.query(_select_events, call_id)]


def _call_event(
    action: str, call_id: str, at: float, outcome: str, reason: str | None
) -> AuditEvent:
    return AuditEvent(
        actor="agent",
        actor_role="system",
        action=action,
        outcome=outcome,
        object_type="call",
        object_id=call_id,
        reason_code=reason,
        call_id=call_id,
        component="session",
        at=at,
    )


# --- SQL (run on the store's worker thread, inside a transaction) -------------


def _insert_call(conn: Connection, row: tuple[str, float, str, str, int | None]) -> None:
    conn.execute(
        "INSERT INTO calls (call_id, started_at, codec, remote_hash, worker)"
        " VALUES (?, ?, ?, ?, ?)",
        row,
    )


def _insert_turn(conn: Connection, row: tuple[Any, ...]) -> int:
    seq = int(
        conn.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE call_id = ?", (row[0],)
        ).fetchone()[0]
    )
    conn.execute(
        "INSERT INTO turns (call_id, seq, speaker, text, started_at, ended_at, timings,"
        " stt_confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (row[0], seq, *row[1:]),
    )
    return seq


def _end_call(conn: Connection, call_id: str, ended_at: float, outcome: str) -> None:
    cursor = conn.execute(
        "UPDATE calls SET ended_at = ?, outcome = ? WHERE call_id = ?",
        (ended_at, outcome, call_id),
    )
    if cursor.rowcount != 1:
        raise StoreError("store-unknown-call", "end_call for a call that was never started")


def _insert_event(
    conn: Connection, call_id: str, kind: str, stage: str | None, code: str | None, at: float
) -> None:
    conn.execute(
        "INSERT INTO call_events (call_id, kind, stage, code, at) VALUES (?, ?, ?, ?, ?)",
        (call_id, kind, stage, code, at),
    )


def _select_calls(conn: Connection, limit: int) -> list[Any]:
    return conn.execute(
        "SELECT c.call_id, c.started_at, c.ended_at, c.codec, c.outcome,"
        " (SELECT count(*) FROM turns t WHERE t.call_id = c.call_id)"
        " FROM calls c ORDER BY c.started_at DESC, c.rowid DESC LIMIT ?",
        (limit,),
    ).fetchall()


def _select_turns(conn: Connection, call_id: str) -> list[Any]:
    return conn.execute(
        "SELECT call_id, seq, speaker, text, started_at, ended_at, timings, stt_confidence"
        " FROM turns WHERE call_id = ? ORDER BY seq",
        (call_id,),
    ).fetchall()


def _select_events(conn: Connection, call_id: str) -> list[Any]:
    return conn.execute(
        "SELECT call_id, kind, stage, code, at FROM call_events WHERE call_id = ? ORDER BY id",
        (call_id,),
    ).fetchall()


# --- rows <-> records ----------------------------------------------------------


def _timings_json(timings: dict[str, float | None]) -> str:
    """Strict JSON: non-finite or missing values become null."""
    clean: dict[str, float | None] = {}
    for name, value in timings.items():
        number = None if value is None else float(value)
        clean[str(name)] = number if number is not None and math.isfinite(number) else None
    return json.dumps(clean, allow_nan=False)


def _summary(row: Any) -> CallSummary:
    call_id, started_at, ended_at, codec, outcome, turn_count = row
    duration = None if ended_at is None else ended_at - started_at
    return CallSummary(call_id, started_at, ended_at, duration, codec, outcome, int(turn_count))


def _turn(row: Any) -> TurnRecord:
    call_id, seq, speaker, text, started_at, ended_at, timings, confidence = row
    return TurnRecord(
        call_id, seq, speaker, text, started_at, ended_at, json.loads(timings), confidence
    )

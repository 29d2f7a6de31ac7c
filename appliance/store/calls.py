"""Calls, turns and call events in the encrypted store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from appliance.store.db import Connection, Database


@dataclass(frozen=True, slots=True)
class CallSummary:
    call_id: str
    started_at: float  # UNIX s
    ended_at: float | None  # UNIX s
    codec: str
    outcome: str | None
    turn_count: int

    @property
    def duration(self) -> float | None:  # s
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True, slots=True)
class TurnRecord:
    call_id: str
    seq: int
    speaker: str
    text: str  # PHI
    started_at: float  # UNIX s
    ended_at: float  # UNIX s
    timings: dict[str, float | None]
    stt_confidence: float | None


@dataclass(frozen=True, slots=True)
class CallEvent:
    call_id: str
    kind: str
    stage: str | None
    code: str | None
    at: float  # UNIX s


class CallRepository:
    """Implements appliance.ports.CallRecorder, plus reads for the CLI and admin."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start_call(
        self, call_id: str, started_at: float, codec: str, remote_hash: str
    ) -> None:
        def write(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO calls (call_id, started_at, codec, remote_hash) VALUES (?, ?, ?, ?)",
                (call_id, started_at, codec, remote_hash),
            )

        await self._db.run(write)

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
        def write(conn: Connection) -> int:
            row = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE call_id = ?", (call_id,)
            ).fetchone()
            seq = int(row[0])
            conn.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (call_id, seq, str(speaker), text, started_at, ended_at,
                 json.dumps(timings), stt_confidence),
            )
            return seq

        return await self._db.run(write)

    async def end_call(self, call_id: str, ended_at: float, outcome: str) -> None:
        def write(conn: Connection) -> None:
            conn.execute(
                "UPDATE calls SET ended_at = ?, outcome = ? WHERE call_id = ?",
                (ended_at, outcome, call_id),
            )

        await self._db.run(write)

    async def add_event(
        self, call_id: str, kind: str, stage: str | None, code: str | None, at: float
    ) -> None:
        def write(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO call_events (call_id, kind, stage, code, at) VALUES (?, ?, ?, ?, ?)",
                (call_id, kind, stage, code, at),
            )

        await self._db.run(write)

    # --- reads (blocking; CLI and admin) -----------------------------------------

    def list_calls(self, limit: int = 20) -> list[CallSummary]:
        def read(conn: Connection) -> list[Any]:
            return list(
                conn.execute(
                    "SELECT c.call_id, c.started_at, c.ended_at, c.codec, c.outcome,"
                    " (SELECT count(*) FROM turns t WHERE t.call_id = c.call_id)"
                    " FROM calls c ORDER BY c.started_at DESC LIMIT ?",
                    (limit,),
                )
            )

        return [CallSummary(*row) for row in self._db.call(read)]

    def turns(self, call_id: str) -> list[TurnRecord]:
        def read(conn: Connection) -> list[Any]:
            return list(
                conn.execute(
                    "SELECT call_id, seq, speaker, text, started_at, ended_at, timings,"
                    " stt_confidence FROM turns WHERE call_id = ? ORDER BY seq",
                    (call_id,),
                )
            )

        return [
            TurnRecord(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7])
            for r in self._db.call(read)
        ]

    def events(self, call_id: str) -> list[CallEvent]:
        def read(conn: Connection) -> list[Any]:
            return list(
                conn.execute(
                    "SELECT call_id, kind, stage, code, at FROM call_events"
                    " WHERE call_id = ? ORDER BY id",
                    (call_id,),
                )
            )

        return [CallEvent(*row) for row in self._db.call(read)]

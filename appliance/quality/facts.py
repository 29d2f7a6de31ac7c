"""What the store recorded of one call, as the evaluators read it.

Metadata only, with one exception: the agent's own words (agent turns), which the
identity evaluator matches against the PHI-bearing templates. Caller words are never
read (a caller turn's text is not even loaded). The appointments are those the call's
`appointment` events name, as the schedule holds them now.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from appliance.store.db import Connection

APPOINTMENT = "appointment"  # EventKind.APPOINTMENT: code "<action>:<appointment id>"


@dataclass(frozen=True, slots=True)
class Event:
    id: int  # call_events.id
    kind: str
    stage: str | None
    code: str | None
    at: float  # UNIX s

    @property
    def ref(self) -> str:
        return f"event:{self.id}"


@dataclass(frozen=True, slots=True)
class Turn:
    seq: int
    speaker: str  # "caller" | "agent"
    started_at: float  # UNIX s
    ended_at: float  # UNIX s
    timings: Mapping[str, float | None]
    text: str | None  # agent turns only; None for caller turns and purged text
    stt_confidence: float | None = None  # caller turns: Whisper's avg logprob

    @property
    def ref(self) -> str:
        return f"turn:{self.seq}"


@dataclass(frozen=True, slots=True)
class Booked:
    """An appointment as the schedule holds it now."""

    id: str
    status: str  # "booked" | "cancelled"
    call_id: str | None  # the call that booked it (None: booked elsewhere)


@dataclass(frozen=True, slots=True)
class CallFacts:
    call_id: str
    started_at: float  # UNIX s
    ended_at: float | None
    outcome: str | None
    events: tuple[Event, ...] = ()
    turns: tuple[Turn, ...] = ()
    appointments: Mapping[str, Booked] = field(default_factory=dict)

    def of(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds]

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    def after(self, event: Event, *kinds: str) -> Event | None:
        """The first event of `kinds` recorded after `event`."""
        return next((e for e in self.events if e.id > event.id and e.kind in kinds), None)

    @property
    def answered_at(self) -> float:
        answered = self.first("answered")
        return answered.at if answered is not None else self.started_at

    @property
    def agent_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.speaker == "agent"]

    @property
    def caller_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.speaker == "caller"]


def load_facts(conn: Connection, call_id: str) -> CallFacts | None:
    """The call's facts (None: no such call); run inside a read transaction."""
    row = conn.execute(
        "SELECT started_at, ended_at, outcome FROM calls WHERE call_id = ?", (call_id,)
    ).fetchone()
    if row is None:
        return None
    events = tuple(
        Event(int(r[0]), str(r[1]), r[2], r[3], float(r[4]))
        for r in conn.execute(
            "SELECT id, kind, stage, code, at FROM call_events WHERE call_id = ? ORDER BY id",
            (call_id,),
        )
    )
    turns = tuple(_turn(r) for r in conn.execute(_TURNS, (call_id,)))
    refs = sorted({appointment_ref(e)[1] for e in events if e.kind == APPOINTMENT})
    return CallFacts(
        call_id,
        float(row[0]),
        None if row[1] is None else float(row[1]),
        row[2],
        events,
        turns,
        _appointments(conn, refs),
    )


# a caller turn's text is never selected
_TURNS = (
    "SELECT seq, speaker, started_at, ended_at, timings,"
    " CASE WHEN speaker = 'agent' AND purged_at IS NULL THEN text END, stt_confidence"
    " FROM turns WHERE call_id = ? ORDER BY seq"
)


def _turn(row: Any) -> Turn:
    seq, speaker, started_at, ended_at, timings, text, confidence = row
    return Turn(
        int(seq), str(speaker), float(started_at), float(ended_at), json.loads(timings), text,
        None if confidence is None else float(confidence),
    )  # fmt: skip


def appointment_ref(event: Event) -> tuple[str, str]:
    """(action, appointment id) of an `appointment` event."""
    action, _, ref = (event.code or "").partition(":")
    return action, ref


def _appointments(conn: Connection, ids: list[str]) -> dict[str, Booked]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT id, status, call_id FROM appointments WHERE id IN ({marks})",  # noqa: S608
        ids,
    ).fetchall()
    return {str(r[0]): Booked(str(r[0]), str(r[1]), r[2]) for r in rows}

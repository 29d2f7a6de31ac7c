"""What bench/turn_gap.py reads from the appliance's store after a run.

Per caller turn: the reply's timings (`reply_audio_out`: the reply's own first audio;
`first_audio_out`: the first sound, the filler when it played) and how many times the
filler began in it (the store's `filler` call events, each placed in the caller turn whose
speech ended last before it). Per call: its outline (speakers, event kinds and codes) and,
for a clinic dialogue, whether it reached its outcome: booked (a new appointment of the
patient, made during the call), cancelled (the patient's seeded appointment), transferred
(a human answered at the desk), answered (every reply a knowledge-base answer).

Turn text is read only to tell a KB answer, and with `diagnose` printed to stderr for a
call that missed its outcome (synthetic demo patients); it is never returned.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAGES = (
    "end_of_turn",
    "stt_done",
    "llm_first_token",  # the clinic agent: its decision's text was ready
    "first_sentence",
    "tts_first_audio",
    "reply_audio_out",
    "first_audio_out",
    "filler",
    "stt_early",  # 1.0 when the speculative transcript served the turn
    "eot_early",  # 1.0 when the turn ended at its first pause (semantic end of turn)
)


@dataclass(slots=True)
class Placed:
    """A call the bench placed to the appliance (UNIX s around it) and what it played."""

    index: int
    kind: str
    patient_id: str | None
    started: float
    ended: float
    gaps: list[float | None] = field(default_factory=list)  # at the caller, per line
    error: str | None = None  # `appliance call` failed (exception class name)


@dataclass(slots=True)
class StoreReading:
    stages: dict[str, list[float]]
    turns: list[dict[str, Any]]  # one per caller turn: kind, timings, fillers
    calls: list[dict[str, Any]]  # one per stored call: outline and outcome


def read_store(var: Path, placed: list[Placed], diagnose: bool = False) -> StoreReading:
    from appliance.demo.config import CLINIC_DIR
    from appliance.services.app_db import MIGRATIONS
    from appliance.store.calls import CallRepository
    from appliance.store.db import Database
    from appliance.workflows.kb import load_kb

    answers = [topic.answer for topic in load_kb(CLINIC_DIR / "kb.toml").topic]
    key = (var / "keys" / "db.key").read_text().strip()
    db = Database.open(var / "appliance.db", key, MIGRATIONS)
    try:
        repo = CallRepository(db)
        appointments = db.query(_appointments)
        synthetic = db.query(_only_synthetic_patients)
        reading = StoreReading({s: [] for s in STAGES}, [], [])
        for call in reversed(repo.list_calls(500)):
            turns, events = repo.turns(call.call_id), repo.events(call.call_id)
            match = _placed(placed, call.started_at)
            kind = match.kind if match else "unknown"
            rows = reply_rows(turns, [(e.kind, e.at) for e in events])
            for row in rows:
                row["kind"] = kind
                for stage in STAGES:
                    value = row["timings"].get(stage)
                    if isinstance(value, float):
                        reading.stages[stage].append(value)
            reading.turns += rows
            codes = [(e.kind, e.code) for e in events]
            replies = [t.text for t in turns if t.speaker == "agent" and _reply(t)]
            ended = call.ended_at or float("inf")
            window = (call.started_at, ended)
            reached = _reached(match, codes, appointments, window, replies, answers)
            reading.calls.append(
                {
                    "call": match.index if match else None,
                    "kind": kind,
                    "outcome": call.outcome,
                    "reached": reached,
                    "speakers": [t.speaker for t in turns],
                    "events": codes,
                    "fillers_per_turn": [row["fillers"] for row in rows],
                }
            )
            if diagnose and reached is False:
                _print_call(kind, turns, synthetic)
        return reading
    finally:
        db.close()


def reply_rows(turns: Iterable[Any], events: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """One row per caller turn: the timings of the agent's reply to it (empty when it had
    no spoken reply with timings) and the fillers that began before the next caller turn."""
    ordered = sorted(turns, key=lambda t: t.seq)
    rows: list[dict[str, Any]] = []
    starts: list[float] = []
    for turn in ordered:
        if turn.speaker == "caller":
            rows.append({"timings": {}, "fillers": 0, "_ended": turn.ended_at})
            starts.append(turn.started_at)
        elif rows and not rows[-1]["timings"] and _reply(turn):
            rows[-1]["timings"] = {
                k: v for k, v in turn.timings.items() if k in STAGES and isinstance(v, float)
            }
    for i, row in enumerate(rows):
        until = starts[i + 1] if i + 1 < len(starts) else float("inf")
        ended = row.pop("_ended")
        row["fillers"] = sum(1 for kind, at in events if kind == "filler" and ended <= at < until)
    return rows


def _reply(turn: Any) -> bool:
    """An agent turn that answered a caller turn (it carries the turn's timings)."""
    return turn.speaker == "agent" and isinstance(turn.timings.get("stt_done"), float)


def _placed(placed: list[Placed], started_at: float) -> Placed | None:
    return next((p for p in placed if p.started - 1.0 <= started_at <= p.ended), None)


def _appointments(conn: Any) -> list[tuple[str, str, float]]:
    rows = conn.execute("SELECT patient_id, status, created_at FROM appointments").fetchall()
    return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]


def _reached(
    placed: Placed | None,
    codes: list[tuple[str, str | None]],
    appointments: list[tuple[str, str, float]],
    window: tuple[float, float],
    replies: list[str],
    answers: list[str],
) -> bool | None:
    """Whether the dialogue reached its outcome in the store (None: not a clinic dialogue)."""
    if placed is None:
        return None
    mine = [(status, at) for patient, status, at in appointments if patient == placed.patient_id]
    if placed.kind == "booking":
        made = any(s == "booked" and window[0] <= at <= window[1] + 5 for s, at in mine)
        return made and ("workflow-book", "ok") in codes
    if placed.kind == "cancel":
        return ("workflow-cancel", "ok") in codes and any(s == "cancelled" for s, _ in mine)
    if placed.kind == "person":
        return any(kind == "transfer-ok" for kind, _ in codes)
    if placed.kind == "faq":
        return bool(replies) and all(any(a in r for a in answers) for r in replies)
    return None


def _only_synthetic_patients(conn: Any) -> bool:
    """Whether every patient in the store is one of the demo clinic's synthetic ones."""
    ids = [row[0] for row in conn.execute("SELECT id FROM patients")]
    return all(str(i).startswith("synthetic-") for i in ids)


def _print_call(kind: str, turns: Iterable[Any], synthetic: bool) -> None:
    """A call that missed its outcome, turn by turn, to stderr: the words only when the
    store holds nothing but the demo clinic's synthetic patients (else lengths only)."""
    print(f"--- {kind} call did not reach its outcome:", file=sys.stderr)
    for turn in turns:
        said = turn.text if synthetic else f"({len(turn.text or '')} characters)"
        print(f"  {turn.speaker}: {said}", file=sys.stderr)

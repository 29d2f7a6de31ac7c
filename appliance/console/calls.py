"""What the calls screens read: a filtered list of calls with their escalation reasons and
score verdicts, one call's metadata (stage timings, events, scores), and the PHI reads
(transcript, handoff packets), each audited as `phi.read` naming the console user before
it is returned.

The store's own readers are used where they exist (CallRepository for turns, events and
summaries; HandoffStore for packets); the filters and the per-call score rows are the
console's queries (read-only, metadata only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from appliance.console.accounts import Actor, Clock, audit
from appliance.governance import gate_metrics as gm
from appliance.governance import use_cases as uc
from appliance.store.calls import CallEvent, CallRepository, CallSummary, TurnRecord
from appliance.store.db import Connection, Database
from appliance.workflows.handoff_store import HandoffStore, StoredHandoff

PAGE = 100  # calls listed at most
VERDICTS = ("pass", "fail", "unsure", "n/a")
IN_PROGRESS = "in-progress"  # the outcome filter's value for calls not ended
ATTRIBUTE_BATCH = 500  # calls whose events are read at once for the use case filter
# the latest row of each evaluator for a call (a re-scoring adds rows, never updates);
# the queries below splice only these constants and "?" clauses: values are bound
_LATEST = (
    "SELECT s.call_id, s.evaluator, s.verdict, s.reason, s.score, s.evaluator_version,"
    " s.scored_at FROM call_scores s WHERE s.id IN"
    " (SELECT max(id) FROM call_scores GROUP BY call_id, evaluator)"
)


@dataclass(frozen=True, slots=True)
class CallFilter:
    """The list's filters; empty strings mean "any". Dates are UTC days (YYYY-MM-DD)."""

    since: str = ""
    until: str = ""
    outcome: str = ""
    reason: str = ""
    verdict: str = ""
    use_case: str = ""  # a use case id: calls attributed to its intents, as the gates do

    def clean(self) -> CallFilter:
        """Values the store knows how to match; anything malformed is dropped."""
        return CallFilter(
            self.since if _day(self.since) is not None else "",
            self.until if _day(self.until) is not None else "",
            self.outcome[:64],
            self.reason[:64],
            self.verdict if self.verdict in VERDICTS else "",
            self.use_case[:64],
        )


@dataclass(frozen=True, slots=True)
class ListedCall:
    summary: CallSummary
    reasons: tuple[str, ...]  # escalation reason codes of its handoffs
    verdicts: dict[str, int] = field(default_factory=dict)  # latest verdict per evaluator


@dataclass(frozen=True, slots=True)
class Choices:
    """The values the filters offer (those in the store)."""

    outcomes: tuple[str, ...]
    reasons: tuple[str, ...]
    use_cases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    evaluator: str
    verdict: str
    reason: str  # a code, never caller words
    score: float | None
    version: str
    scored_at: float


@dataclass(frozen=True, slots=True)
class CallDetail:
    summary: CallSummary
    timings: list[tuple[int, str, dict[str, float | None]]]  # (seq, speaker, stage timings)
    stages: tuple[str, ...]  # the timing names, in order of first appearance
    events: list[CallEvent]
    scores: list[Score]
    reasons: tuple[str, ...]


def _day(text: str) -> float | None:
    """The UNIX s of a UTC day's start, or None for anything but YYYY-MM-DD."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day.timestamp()


class CallReader:
    """Blocking reads for the calls screens (the routes run them in a thread)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.repo = CallRepository(db)
        self.handoffs = HandoffStore(db)

    # --- the list ---------------------------------------------------------------------

    def calls(self, wanted: CallFilter) -> list[ListedCall]:
        return self.db.query(_list, wanted.clean())

    def choices(self) -> Choices:
        return self.db.query(_choices)

    # --- one call (metadata) ----------------------------------------------------------

    def detail(self, call_id: str) -> CallDetail | None:
        summary = self.db.query(_summary, call_id)
        if summary is None:
            return None
        turns = self.repo.turns(call_id)  # the text is read but never shown here
        stages: dict[str, None] = {}
        timings = []
        for t in turns:
            stages.update(dict.fromkeys(t.timings))
            timings.append((t.seq, t.speaker, dict(t.timings)))
        return CallDetail(
            summary,
            timings,
            tuple(stages),
            self.repo.events(call_id),
            self.db.query(_scores, call_id),
            self.db.query(_reasons, call_id),
        )

    # --- PHI, audited -----------------------------------------------------------------

    def transcript(self, call_id: str, by: Actor) -> tuple[list[TurnRecord], list[StoredHandoff]]:
        """The call's turns and handoff packets; the read is audited (`phi.read`, the
        user's name) before anything is returned."""
        self.db.execute(_audit_read, self.db, call_id, by, self.clock())
        return self.repo.turns(call_id), self.handoffs.packets(call_id)


def packet_fields(packet: StoredHandoff) -> list[tuple[str, str]]:
    """A handoff packet as (field, value) rows for the page (PHI: transcript view only)."""
    try:
        data: Any = json.loads(packet.packet)
    except ValueError:
        return [("packet", "unreadable")]
    if not isinstance(data, dict):
        return [("packet", "unreadable")]
    return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]


# --- SQL (read transactions) ------------------------------------------------------------


def _list(conn: Connection, f: CallFilter) -> list[ListedCall]:
    where, args = _where(f)
    if f.use_case:
        ids = _attributed_to(conn, where, args, f.use_case)
        where = "WHERE c.call_id IN (SELECT value FROM json_each(?))"
        args = [json.dumps(ids)]
    rows = conn.execute(
        "SELECT c.call_id, c.started_at, c.ended_at, c.codec, c.outcome,"  # noqa: S608
        " (SELECT count(*) FROM turns t WHERE t.call_id = c.call_id),"
        " (SELECT json_group_array(DISTINCT h.reason) FROM handoffs h"
        "  WHERE h.call_id = c.call_id)"
        f" FROM calls c {where} ORDER BY c.started_at DESC, c.rowid DESC LIMIT ?",
        (*args, PAGE),
    ).fetchall()
    verdicts = _verdict_counts(conn, [str(r[0]) for r in rows])
    return [
        ListedCall(
            _as_summary(r[:6]),
            tuple(sorted(json.loads(r[6]))),
            verdicts.get(str(r[0]), {}),
        )
        for r in rows
    ]


def _where(f: CallFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if (since := _day(f.since)) is not None:
        clauses.append("c.started_at >= ?")
        args.append(since)
    if (until := _day(f.until)) is not None:
        clauses.append("c.started_at < ?")
        args.append(until + 86400)
    if f.outcome == IN_PROGRESS:
        clauses.append("c.ended_at IS NULL")
    elif f.outcome:
        clauses.append("c.outcome = ?")
        args.append(f.outcome)
    if f.reason:
        clauses.append(
            "EXISTS (SELECT 1 FROM handoffs h WHERE h.call_id = c.call_id AND h.reason = ?)"
        )
        args.append(f.reason)
    if f.verdict:
        clauses.append(f"c.call_id IN (SELECT call_id FROM ({_LATEST}) WHERE verdict = ?)")  # noqa: S608
        args.append(f.verdict)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args


def _use_cases(conn: Connection) -> list[uc.UseCase]:
    """The store's use cases (the built-in ones where the store has none yet)."""
    return uc.load(conn) or list(uc.BUILT_IN)


def _attributed_to(conn: Connection, where: str, args: list[Any], use_case: str) -> list[str]:
    """The ids (newest first, at most PAGE) of the calls matching `where` that the gates
    attribute to `use_case` (governance.gate_metrics.intents_of: the calls' intent
    events, or their workflow actions for calls recorded before them); none for an
    unknown use case."""
    intents = {i for c in _use_cases(conn) if c.id == use_case for i in c.intents}
    if not intents:
        return []
    ids = [
        str(r[0])
        for r in conn.execute(
            f"SELECT c.call_id FROM calls c {where}"  # noqa: S608
            " ORDER BY c.started_at DESC, c.rowid DESC",
            args,
        )
    ]
    found: list[str] = []
    for start in range(0, len(ids), ATTRIBUTE_BATCH):
        records = {i: gm.CallRecord(i, 0.0, "") for i in ids[start : start + ATTRIBUTE_BATCH]}
        for call_id, kind, code in conn.execute(
            "SELECT call_id, kind, code FROM call_events"
            " WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps(list(records)),),
        ):
            records[str(call_id)].kinds.append(str(kind))
            records[str(call_id)].codes.append(None if code is None else str(code))
        found += [i for i, r in records.items() if gm.intents_of(r) & intents]
        if len(found) >= PAGE:
            break
    return found[:PAGE]


def _verdict_counts(conn: Connection, ids: list[str]) -> dict[str, dict[str, int]]:
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT call_id, verdict, count(*) FROM ({_LATEST})"  # noqa: S608
        " WHERE call_id IN (SELECT value FROM json_each(?)) GROUP BY call_id, verdict",
        (json.dumps(ids),),
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for call_id, verdict, n in rows:
        counts.setdefault(str(call_id), {})[str(verdict)] = int(n)
    return {k: {v: c[v] for v in VERDICTS if v in c} for k, c in counts.items()}


def _choices(conn: Connection) -> Choices:
    outcomes = conn.execute(
        "SELECT DISTINCT outcome FROM calls WHERE outcome IS NOT NULL ORDER BY outcome"
    ).fetchall()
    reasons = conn.execute("SELECT DISTINCT reason FROM handoffs ORDER BY reason").fetchall()
    return Choices(
        tuple(str(r[0]) for r in outcomes),
        tuple(str(r[0]) for r in reasons),
        tuple(c.id for c in _use_cases(conn)),
    )


def _summary(conn: Connection, call_id: str) -> CallSummary | None:
    row = conn.execute(
        "SELECT c.call_id, c.started_at, c.ended_at, c.codec, c.outcome,"
        " (SELECT count(*) FROM turns t WHERE t.call_id = c.call_id)"
        " FROM calls c WHERE c.call_id = ?",
        (call_id,),
    ).fetchone()
    return _as_summary(row) if row else None


def _as_summary(row: Any) -> CallSummary:
    call_id, started, ended, codec, outcome, turns = row
    duration = None if ended is None else float(ended) - float(started)
    return CallSummary(str(call_id), float(started), ended, duration, codec, outcome, int(turns))


def _scores(conn: Connection, call_id: str) -> list[Score]:
    rows = conn.execute(
        f"SELECT * FROM ({_LATEST}) WHERE call_id = ? ORDER BY evaluator",  # noqa: S608
        (call_id,),
    ).fetchall()
    return [Score(str(r[1]), str(r[2]), str(r[3]), r[4], str(r[5]), float(r[6])) for r in rows]


def _reasons(conn: Connection, call_id: str) -> tuple[str, ...]:
    rows = conn.execute(
        "SELECT DISTINCT reason FROM handoffs WHERE call_id = ? ORDER BY reason", (call_id,)
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def _audit_read(conn: Connection, db: Database, call_id: str, by: Actor, now: float) -> None:
    audit(
        db,
        conn,
        by,
        "phi.read",
        object_type="call",
        object_id=call_id,
        call_id=call_id,
        reason_code="transcript",
        at=now,
    )

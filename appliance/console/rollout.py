"""The console's side of the rollout: what the use case screens read, and the request of
a promotion that a second person approves.

Every rule lives in appliance/governance/: the console only calls promotion.promote
(checklist, gate, simulation, second person, TOTP), checklist.tick and use_cases.change
(pause, kill). A request is an audit record (`usecase.requested`, the requester, the
use case and `from:to`), so no table is needed: it stands while the use case is still in
the state it was requested from and no change came after it. The approver's sign-in
decides `approved_by`; the requester named in the promotion is the request's actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from appliance.errors import GovernanceError
from appliance.governance import checklist, gates, promotion, signoff
from appliance.governance import use_cases as uc
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

REQUESTED = "usecase.requested"
CHANGES = ("usecase.created", "usecase.state", "usecase.killed")
DEMOTED_DAYS = 7  # the use case list's banner shows the demotions of this many days


@dataclass(frozen=True, slots=True)
class Request:
    """A standing request: `by` asks to take the use case from `from_state` to `to_state`."""

    use_case: str
    by: str
    from_state: str
    to_state: str
    at: str  # the audit record's UTC time


@dataclass(frozen=True, slots=True)
class Row:
    case: uc.UseCase
    gate: gates.Gate | None
    request: Request | None


def next_state(state: str) -> str | None:
    """Where a request may take a use case in `state` (one step up; paused or killed: pilot)."""
    if state in ("paused", "killed"):
        return "pilot"
    return uc.PROMOTIONS.get(state)


def rows(db: Database, rules: promotion.Rules, now: float) -> list[Row]:
    def read(conn: Connection) -> list[Row]:
        found = {g.use_case: g for g in gates.evaluate(conn, rules.governance, now)}
        cases = uc.load(conn)
        return [Row(c, found.get(c.id), _request_in(conn, c.id, c.state)) for c in cases]

    return db.query(read)


def agent_state(db: Database) -> str:
    return uc.states(db).get(uc.AGENT, "live")


def one(db: Database, rules: promotion.Rules, now: float, use_case: str) -> Row:
    """Raises GovernanceError usecase-unknown."""
    found = next((r for r in rows(db, rules, now) if r.case.id == use_case), None)
    if found is None:
        raise GovernanceError("usecase-unknown", f"no use case {use_case!r}")
    return found


def _request_in(conn: Connection, use_case: str, state: str) -> Request | None:
    marks = ", ".join("?" * len(CHANGES))
    last_change = conn.execute(
        f"SELECT coalesce(max(seq), 0) FROM audit WHERE object_id = ? AND outcome = 'ok'"  # noqa: S608
        f" AND object_type = 'use_case' AND action IN ({marks})",
        (use_case, *CHANGES),
    ).fetchone()[0]
    row = conn.execute(
        "SELECT actor, reason_code, at FROM audit WHERE action = ? AND object_id = ?"
        " AND object_type = 'use_case' AND seq > ? ORDER BY seq DESC LIMIT 1",
        (REQUESTED, use_case, int(last_change)),
    ).fetchone()
    if row is None:
        return None
    from_state, _, to_state = str(row[1]).partition(":")
    if from_state != state:
        return None
    return Request(use_case, str(row[0]), from_state, to_state, str(row[2]))


def request(db: Database, use_case: str, by: str, role: str, at: float) -> Request:
    """Record a request for the next state (audited). Raises GovernanceError
    usecase-unknown, usecase-state-invalid (no step up from this state)."""

    def write(conn: Connection) -> Request:
        state = uc.states_in(conn).get(use_case)
        if state is None or use_case == uc.AGENT:
            raise GovernanceError("usecase-unknown", f"no use case {use_case!r}")
        to = next_state(state)
        if to is None:
            raise GovernanceError("usecase-state-invalid", f"a {state} use case has no next state")
        event = AuditEvent(
            actor=by, actor_role=role, action=REQUESTED, object_type="use_case",
            object_id=use_case, reason_code=f"{state}:{to}", component="console", at=at,
        )  # fmt: skip
        record = append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)
        return Request(use_case, by, state, to, record.at)

    return db.execute(write)


def standing(db: Database, use_case: str) -> Request | None:
    def read(conn: Connection) -> Request | None:
        state = uc.states_in(conn).get(use_case)
        return None if state is None else _request_in(conn, use_case, state)

    return db.query(read)


@dataclass(frozen=True, slots=True)
class Approval:
    use_case: str
    by: str  # the signed-in approver
    totp: str
    comment: str


def approve(db: Database, rules: promotion.Rules, approval: Approval, at: float) -> str:
    """Promote along the standing request (promotion.promote checks everything; a refusal
    is audited there); the evidence's sha256. Raises GovernanceError usecase-no-request
    and promotion's codes."""
    found = standing(db, approval.use_case)
    if found is None:
        raise GovernanceError("usecase-no-request", "nobody has requested a promotion")
    change = uc.Change(approval.use_case, found.to_state, found.by, approval.by, approval.comment)
    return promotion.promote(db, change, approval.totp, rules, at)


def review(db: Database, rules: promotion.Rules, approval: Approval, at: float) -> str:
    """A review sign-off of the use case in its state (promotion.review: a compliance
    officer for a high-risk use case); the gate evidence's sha256."""
    request = promotion.Review(approval.use_case, approval.by, approval.totp, approval.comment)
    return promotion.review(db, request, rules, at)


def tick(db: Database, request: checklist.Tick, at: float) -> None:
    checklist.tick(db, request, at)


def stop(db: Database, use_case: str, to_state: str, by: str, at: float) -> str:
    """Pause or kill a use case, or kill the whole agent (`*`); the previous state.
    Raises GovernanceError usecase-state-invalid for anything but a change down."""
    allowed = ("killed",) if use_case == uc.AGENT else ("paused", "killed")
    if to_state not in allowed:
        raise GovernanceError("usecase-state-invalid", f"only {' or '.join(allowed)} here")
    return uc.change(db, uc.Change(use_case, to_state, by), at)


def signoffs(db: Database, use_case: str) -> list[dict[str, object]]:
    return signoff.signoffs(db, use_case)


def history(db: Database, use_case: str) -> list[dict[str, object]]:
    return uc.history(db, use_case)


@dataclass(frozen=True, slots=True)
class Demoted:
    """An automatic demotion that still stands: the use case is paused since."""

    use_case: str
    at: str  # the audit record's UTC time
    failing: str  # the failing criteria, comma-separated codes


def demoted(db: Database, now: float) -> list[Demoted]:
    """The `usecase.demoted` records of the last DEMOTED_DAYS days whose use case is
    still paused, newest first (the banner of the use case list)."""
    since = datetime.fromtimestamp(now - DEMOTED_DAYS * 86400.0, UTC).isoformat()
    sql = (
        "SELECT a.object_id, a.at, a.reason_code FROM audit a JOIN use_cases u"
        " ON u.id = a.object_id WHERE a.action = 'usecase.demoted' AND a.at >= ?"
        " AND u.state = 'paused' ORDER BY a.seq DESC"
    )

    def read(conn: Connection) -> list[Demoted]:
        rows = conn.execute(sql, (since,)).fetchall()
        return [Demoted(str(c), str(at), str(r).split(":sha256:")[0]) for c, at, r in rows]

    return db.query(read)

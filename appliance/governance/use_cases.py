"""Use cases as data: which caller requests the agent may handle, at which risk tier, in
which state of the rollout, and the kill switches.

A use case names the intents it covers (`appliance.llm.understanding.Intent` values),
its risk tier (low / medium / high) and its state: draft -> simulated -> pilot ->
production, plus paused and killed. Only pilot and production are live: a caller whose
request belongs to any other state goes to the front desk (reason `use-case-disabled`,
audited with the call's workflow actions). Emergencies, a wish for a person, goodbyes
and details are never gated. Besides each use case's own kill, one switch sends every
call's next turn to the front desk (`agent-killed`).

The built-in use cases are created on first open of the store: a real install starts
with every one in draft and the high-risk ones killed; the demo clinic of `make run`
starts its low- and medium-risk ones in pilot, marked as demo sign-offs. Every change is
an audit record (`usecase.*`) naming the actor and, for a promotion, the approver; the
comment stays in the store's history table, never in the audit chain. A change up is
applied only through `change(..., approve=...)`: appliance/governance/promotion.py checks
the checklist, the gate and the TOTP sign-off inside the change's transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.errors import GovernanceError
from appliance.governance.checklist import seed_demo_in
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

USE_CASES_VERSION = 8  # the store migration's number
TIERS = ("low", "medium", "high")
STATES = ("draft", "simulated", "pilot", "production", "paused", "killed")
LIVE = frozenset({"pilot", "production"})
PROMOTIONS = {"draft": "simulated", "simulated": "pilot", "pilot": "production"}
AGENT = "*"  # the row of the whole agent's kill switch
MAX_COMMENT = 500


@dataclass(frozen=True, slots=True)
class UseCase:
    id: str
    description: str
    intents: tuple[str, ...]
    tier: str
    owner: str = "voice-ai-owner"
    state: str = "draft"


BUILT_IN = (
    UseCase("clinic-information", "Answers from the clinic's knowledge base: hours, "
            "address, parking, what to bring", ("clinic_info",), "low"),
    UseCase("scheduling", "Book, move, cancel and look up appointments after identity "
            "verification", ("book", "reschedule", "cancel", "appointment_status"), "medium"),
    UseCase("billing", "Billing questions and card payments (the PCI pause)", ("billing",),
            "high"),
    UseCase("refills", "Prescription refill requests", ("refill",), "high"),
    UseCase("test-results", "Test results", ("test_results",), "high"),
)  # fmt: skip

# use cases, their states and the history of every change
USE_CASES_MIGRATION = Migration(
    USE_CASES_VERSION,
    """
    CREATE TABLE use_cases (
        id TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        intents TEXT NOT NULL,
        tier TEXT NOT NULL CHECK (tier IN ('low', 'medium', 'high', 'none')),
        owner TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('draft', 'simulated', 'pilot', 'production', 'paused', 'killed', 'live')),
        changed_at REAL NOT NULL
    );
    CREATE TABLE use_case_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        use_case TEXT NOT NULL,
        at REAL NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        approved_by TEXT,
        comment TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT ''
    );
    CREATE TRIGGER use_case_history_immutable_u BEFORE UPDATE ON use_case_history
    BEGIN SELECT RAISE(ABORT, 'use case history is append-only'); END;
    CREATE TRIGGER use_case_history_immutable_d BEFORE DELETE ON use_case_history
    BEGIN SELECT RAISE(ABORT, 'use case history is append-only'); END;
    """,
)


@dataclass(frozen=True, slots=True)
class Change:
    """One requested state change (a promotion names a second person who approved it)."""

    use_case: str
    to_state: str
    requested_by: str
    approved_by: str | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Signer:
    key: Ed25519PrivateKey | None
    every: int

    @classmethod
    def of(cls, db: Database) -> Signer:
        return cls(db.audit_signer, db.audit_checkpoint_every)


def initial_state(case: UseCase, demo: bool) -> str:
    if case.tier == "high":
        return "killed"
    return "pilot" if demo else "draft"


def ensure_built_in(db: Database, demo: bool, at: float | None = None) -> list[str]:
    """Create the built-in use cases (and the agent switch) that the store lacks; the
    ids created. Idempotent: an existing use case keeps its state."""
    return db.execute(_ensure, demo, time.time() if at is None else at, Signer.of(db))


def _ensure(conn: Connection, demo: bool, at: float, signer: Signer) -> list[str]:
    have = {row[0] for row in conn.execute("SELECT id FROM use_cases")}
    agent = UseCase(AGENT, "The whole agent (kill switch)", (), "none", state="live")
    created = []
    for case in (agent, *BUILT_IN):
        if case.id in have:
            continue
        state = case.state if case.id == AGENT else initial_state(case, demo)
        conn.execute(
            "INSERT INTO use_cases VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case.id, case.description, json.dumps(case.intents), case.tier, case.owner,
             state, at),
        )  # fmt: skip
        who = "demo-seed" if demo else "install"
        note = "demo sign-off: synthetic clinic" if demo and state in LIVE else ""
        _history(conn, case.id, at, None, state, who, None, note)
        _audit(conn, signer, "usecase.created", case.id, who, state, at)
        created.append(case.id)
    if demo:
        _demo_checklists(conn, at)
    return created


def _demo_checklists(conn: Connection, at: float) -> None:
    """The demo's seeded live use cases without a checklist (a store older than the
    checklists too) get every item ticked, marked demo."""
    rows = conn.execute(
        "SELECT id FROM use_cases u WHERE state IN ('pilot', 'production') AND EXISTS"
        " (SELECT 1 FROM use_case_history h WHERE h.use_case = u.id"
        " AND h.requested_by = 'demo-seed') AND NOT EXISTS"
        " (SELECT 1 FROM use_case_checklist c WHERE c.use_case = u.id)"
    ).fetchall()
    for (use_case,) in rows:
        seed_demo_in(conn, str(use_case), at)


def states(db: Database) -> dict[str, str]:
    """Use case id -> state (AGENT -> "live" or "killed")."""
    return db.query(states_in)


def states_in(conn: Connection) -> dict[str, str]:
    return {row[0]: row[1] for row in conn.execute("SELECT id, state FROM use_cases")}


def load(conn: Connection) -> list[UseCase]:
    rows = conn.execute(
        "SELECT id, description, intents, tier, owner, state FROM use_cases WHERE id != ? "
        "ORDER BY id",
        (AGENT,),
    )
    return [UseCase(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5]) for r in rows]


def live_intents(cases: list[UseCase]) -> frozenset[str]:
    return frozenset(i for c in cases if c.state in LIVE for i in c.intents)


# checks a promotion inside its transaction (checklist, gate, sign-off with TOTP) and
# records the sign-off; returns the sha256 of the evidence (appliance/governance/promotion.py)
Approve = Callable[[Connection, Change, str, str, float], str]


def change(
    db: Database, request: Change, at: float | None = None, approve: Approve | None = None
) -> str:
    """Apply a state change (audited); the previous state. Raises GovernanceError.

    A change up (a promotion, a resumption, the agent's revival) needs `approve`: without
    it the change is refused (`usecase-needs-sign-off`)."""
    _check_request(request)
    at = time.time() if at is None else at
    return db.execute(_change, request, at, Signer.of(db), approve)


def _check_request(request: Change) -> None:
    if request.to_state not in (*STATES, "live"):
        raise GovernanceError("usecase-state-unknown", f"no state {request.to_state!r}")
    if len(request.comment) > MAX_COMMENT:
        raise GovernanceError("usecase-comment-too-long", f"at most {MAX_COMMENT} characters")
    if not request.requested_by.strip():
        raise GovernanceError("usecase-actor-missing", "say who requests the change")


def _change(
    conn: Connection, request: Change, at: float, signer: Signer, approve: Approve | None
) -> str:
    row = conn.execute(
        "SELECT state, tier FROM use_cases WHERE id = ?", (request.use_case,)
    ).fetchone()
    if row is None:
        raise GovernanceError("usecase-unknown", f"no use case {request.use_case!r}")
    current, tier = str(row[0]), str(row[1])
    evidence = ""
    if _check_transition(request, current, tier):
        if approve is None:
            raise GovernanceError("usecase-needs-sign-off", "a change up is signed off (TOTP)")
        evidence = approve(conn, request, current, tier, at)
    conn.execute(
        "UPDATE use_cases SET state = ?, changed_at = ? WHERE id = ?",
        (request.to_state, at, request.use_case),
    )
    _history(conn, request.use_case, at, current, request.to_state, request.requested_by,
             request.approved_by, request.comment, evidence)  # fmt: skip
    action = "usecase.killed" if request.to_state == "killed" else "usecase.state"
    actor = request.approved_by or request.requested_by
    _audit(conn, signer, action, request.use_case, actor, request.to_state, at)
    return current


def _check_transition(request: Change, current: str, tier: str) -> bool:
    """Down is always allowed (kill, pause); up one step at a time, requested by one
    person and approved by another; a paused use case resumes to pilot (approved).
    True when the change needs a sign-off."""
    to = request.to_state
    if request.use_case == AGENT:
        if to not in ("live", "killed"):
            raise GovernanceError("usecase-state-invalid", "the agent switch is live or killed")
        if to == "live":
            _require_approver(request)
        return to == "live"
    if to in ("killed", "paused", "draft"):
        if to == "paused" and current not in LIVE:
            raise GovernanceError("usecase-state-invalid", f"a {current} use case is not live")
        return False
    upward = PROMOTIONS.get(current) == to or (current in ("paused", "killed") and to == "pilot")
    if not upward:
        raise GovernanceError("usecase-state-invalid", f"{current} cannot become {to}")
    _require_approver(request)
    if tier == "high" and to in LIVE and not request.comment.strip():
        raise GovernanceError("usecase-needs-comment", "a high-risk promotion needs a comment")
    return True


def _require_approver(request: Change) -> None:
    if not request.approved_by or request.approved_by.strip() == request.requested_by.strip():
        raise GovernanceError(
            "usecase-needs-approver", "a promotion is approved by a second person"
        )


def _history(
    conn: Connection,
    use_case: str,
    at: float,
    from_state: str | None,
    to_state: str,
    requested_by: str,
    approved_by: str | None,
    comment: str,
    evidence: str = "",
) -> None:
    conn.execute(
        "INSERT INTO use_case_history (use_case, at, from_state, to_state, requested_by, "
        "approved_by, comment, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (use_case, at, from_state, to_state, requested_by, approved_by, comment, evidence),
    )


def _audit(
    conn: Connection, signer: Signer, action: str, use_case: str, actor: str, state: str,
    at: float,
) -> None:  # fmt: skip
    event = AuditEvent(
        actor=actor, actor_role="operator", action=action, object_type="use_case",
        object_id=use_case, reason_code=state, component="governance", at=at,
    )  # fmt: skip
    append_audit(conn, event, signer.key, signer.every)


def history(db: Database, use_case: str | None = None) -> list[dict[str, object]]:
    """The recorded changes, oldest first (for the CLI and the console)."""

    def read(conn: Connection) -> list[dict[str, object]]:
        sql = (
            "SELECT use_case, at, from_state, to_state, requested_by, approved_by, comment, "
            "evidence FROM use_case_history"
        )
        args: tuple[str, ...] = ()
        if use_case is not None:
            sql, args = sql + " WHERE use_case = ?", (use_case,)
        keys = ("use_case", "at", "from", "to", "requested_by", "approved_by", "comment",
                "evidence")  # fmt: skip
        return [
            dict(zip(keys, row, strict=True)) for row in conn.execute(sql + " ORDER BY seq", args)
        ]

    return db.query(read)

"""Promotions and review sign-offs: the two-person change of appliance/governance/
use_cases.py with its checks, all inside the change's one transaction.

A change up (draft -> simulated -> pilot -> production, paused or killed -> pilot, the
agent's revival) is refused unless, at that moment:
- the use case's pre-deployment checklist is complete, for a change into pilot or
  production (appliance/governance/checklist.py; demo ticks count only for the demo);
- its phase gate passes, for pilot -> production (appliance/governance/gates.py);
- its newest simulation since it entered draft passed, for draft -> simulated
  (appliance/governance/simulation.py; the sign-off's evidence names its sha256);
- a second console user with the required role approves it with a fresh TOTP and a
  comment (appliance/governance/signoff.py).
The sign-off records the sha256 of the gate evidence at that moment, also in the use
case's history and in the audit chain. A refused promotion (checklist, gate, wrong code,
role or person) is audited on its own, since the change rolled back.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from appliance.config import Governance
from appliance.errors import GovernanceError
from appliance.governance import checklist, gates, signoff, simulation
from appliance.governance import use_cases as uc
from appliance.store.db import Connection, Database

AUDITED_REFUSALS = frozenset(
    {
        "usecase-checklist-incomplete",
        "usecase-simulation-missing",
        "usecase-simulation-failed",
        "usecase-gate-failed",
        "usecase-requester-unknown",
        "usecase-needs-approver",
        "usecase-approver-unknown",
        "usecase-approver-role",
        "usecase-totp-wrong",
    }
)


@dataclass(frozen=True, slots=True)
class Rules:
    governance: Governance = field(default_factory=Governance)
    accept_demo: bool = False  # demo ticks count (the demo clinic of `make run`)


def promote(
    db: Database, request: uc.Change, totp: str, rules: Rules, at: float | None = None
) -> str:
    """Apply a change up with its checks and sign-off; the previous state."""
    at = time.time() if at is None else at

    def approve(conn: Connection, req: uc.Change, current: str, tier: str, now: float) -> str:
        return _approve(db, conn, req, current, tier, now, totp, rules)

    try:
        return uc.change(db, request, at, approve)
    except GovernanceError as exc:
        if exc.code in AUDITED_REFUSALS:
            who = request.approved_by or request.requested_by
            signoff.audit_refused(db, request.use_case, who, exc.code, at)
        raise


def _approve(
    db: Database, conn: Connection, req: uc.Change, current: str, tier: str, at: float,
    totp: str, rules: Rules,
) -> str:  # fmt: skip
    to = req.to_state
    gate = None
    if req.use_case != uc.AGENT:
        if to in uc.LIVE:
            missing = checklist.missing_in(conn, req.use_case, rules.accept_demo)
            if missing:
                done = "not done: " + ", ".join(missing)
                raise GovernanceError("usecase-checklist-incomplete", done)
        gate = gates.evaluate_one(conn, rules.governance, at, req.use_case)
        if gate is not None and current == "pilot" and to == "production" and not gate.passed:
            failing = [c.name for c in gate.criteria if not c.passed]
            raise GovernanceError("usecase-gate-failed", "failing: " + ", ".join(failing))
    simulated = simulation.passed_in(conn, req.use_case) if current == "draft" else None
    approval = signoff.Approval(req.requested_by, req.approved_by or "", totp, req.comment)
    role = signoff.verify_in(conn, approval, signoff.required_roles(tier, to), at)
    evidence = gate.evidence() if gate is not None else _agent_evidence(conn)
    if simulated is not None:  # what leaving draft rests on: the passing simulation
        body = {"gate": json.loads(evidence), "simulation_sha256": simulated}
        evidence = json.dumps(body, sort_keys=True, separators=(",", ":"))
    sha = hashlib.sha256(evidence.encode()).hexdigest()
    signed = signoff.Signed(req.use_case, current, to, role, evidence, sha)
    signoff.record_in(db, conn, approval, signed, at)
    return sha


def _agent_evidence(conn: Connection) -> str:
    """What the approver of the agent's revival saw: every use case's state."""
    return json.dumps(sorted(uc.states_in(conn).items()), separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Review:
    """A sign-off of a use case in its state (the high-risk gate's compliance officer)."""

    use_case: str
    by: str
    totp: str
    comment: str


def review(db: Database, request: Review, rules: Rules, at: float | None = None) -> str:
    """Record a review sign-off with the gate evidence now; its sha256."""
    at = time.time() if at is None else at
    try:
        return db.execute(_review, db, request, rules, at)
    except GovernanceError as exc:
        if exc.code in AUDITED_REFUSALS:
            signoff.audit_refused(db, request.use_case, request.by, exc.code, at)
        raise


def _review(conn: Connection, db: Database, request: Review, rules: Rules, at: float) -> str:
    gate = gates.evaluate_one(conn, rules.governance, at, request.use_case)
    if gate is None:
        raise GovernanceError("usecase-unknown", f"no use case {request.use_case!r}")
    approval = signoff.Approval(request.by, request.by, request.totp, request.comment)
    roles = signoff.required_roles(gate.tier, None)
    role = signoff.verify_in(conn, approval, roles, at, two=False)
    # the sign-off itself is not part of what it signs: the evidence is the gate before it
    evidence = gate.evidence()
    signed = signoff.Signed(request.use_case, gate.state, None, role, evidence, gate.sha256())
    signoff.record_in(db, conn, approval, signed, at)
    return gate.sha256()

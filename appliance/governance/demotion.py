"""Automatic demotion: a live use case whose phase gate fails goes to paused, audited.

Only measured failures demote: a gate with fewer than `min_calls` calls in the window
never does (too little traffic is not evidence of harm), nor does a missing review
sign-off (a high-risk use case's sign-off dates from before its last change). A use case
in production is paused when any other criterion of its gate fails; one in pilot only
when a safety criterion fails (its compliance flag rate, escalation-to-complaint
conversion or a compliance evaluator), since pilot is where containment is still being
earned. Either is paused, too, when containment of the last 24 h fell more than
`containment_drop_max` (5 points) below the rest of the window, with at least
`drop_min_calls` calls in those 24 h (the gate alert). The change is the ordinary
`usecase.state` record by `gate-monitor`, plus a `usecase.demoted` record naming the
failing criteria and the sha256 of the gate's evidence (with the drop); the history
row's comment says the same. Run by `appliance governance enforce`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from appliance.config import Governance
from appliance.governance import gates
from appliance.governance import use_cases as uc
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

ACTOR = "gate-monitor"
NEVER = frozenset({"calls", "compliance-officer-sign-off"})
SAFETY = frozenset({"compliance-flag-rate", "escalation-to-complaint"})


@dataclass(frozen=True, slots=True)
class Demotion:
    use_case: str
    from_state: str
    failing: tuple[str, ...]
    sha256: str


def demoting(gate: gates.Gate, min_calls: int) -> tuple[str, ...]:
    """The criteria for which this gate's use case is paused now (empty: none)."""
    calls = next((c for c in gate.criteria if c.name == "calls"), None)
    if gate.state not in uc.LIVE or calls is None or calls.n < min_calls:
        return ()
    failing = [c for c in gate.criteria if not c.passed and c.name not in NEVER]
    if gate.state == "pilot":
        failing = [c for c in failing if c.name in SAFETY or c.name.startswith("evaluator:")]
    return tuple(c.name for c in failing)


def enforce(db: Database, cfg: Governance, at: float | None = None) -> list[Demotion]:
    """Pause every live use case whose gate fails (one transaction); what was done."""
    at = time.time() if at is None else at
    return db.execute(_enforce, db, cfg, at)


def _enforce(conn: Connection, db: Database, cfg: Governance, at: float) -> list[Demotion]:
    done = []
    drops = gates.containment_drops(conn, cfg, at)
    for found in gates.evaluate(conn, cfg, at):
        drop = drops[found.use_case]
        gate = replace(found, criteria=(*found.criteria, drop))  # the evidence includes it
        failing = demoting(found, cfg.min_calls)
        if gate.state in uc.LIVE and not drop.passed:
            failing = (*failing, drop.name)
        if not failing:
            continue
        sha = gate.sha256()
        comment = f"gate failed: {', '.join(failing)}; evidence sha256 {sha}"
        request = uc.Change(gate.use_case, "paused", ACTOR, None, comment)
        uc._change(conn, request, at, uc.Signer.of(db), None)
        event = AuditEvent(
            actor=ACTOR, actor_role="system", action="usecase.demoted", object_type="use_case",
            object_id=gate.use_case, reason_code=f"{','.join(failing)}:sha256:{sha}",
            component="governance", at=at,
        )  # fmt: skip
        append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)
        done.append(Demotion(gate.use_case, gate.state, failing, sha))
    return done

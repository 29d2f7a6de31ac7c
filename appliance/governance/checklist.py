"""The pre-deployment checklist of each use case: versioned items, each ticked by a named
reviewer on a date with a link to its evidence.

The items are the issue's (docs/governance.md): tier, compliance controls, warm-transfer
path tested in staging, monitoring thresholds, escalation triggers, rollback plan,
governance sign-off. `CHECKLIST_VERSION` names this list: a changed list gets a new
version and the ticks of an older one no longer count. Rows are append-only (a tick, or a
clearing, is a new row; an item's state is its newest row of the current version) and
each one is an audit record (`usecase.checklist`: the item and done/cleared, never the
link). A use case is promoted into pilot or production only while its checklist is
complete (appliance/governance/use_cases.py). The demo clinic's seeded use cases get
ticks marked demo, which count only where the demo clinic is on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from appliance.errors import GovernanceError
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

CHECKLIST_VERSION = 1
MAX_EVIDENCE = 500
DEMO_EVIDENCE = "demo: synthetic clinic (make run), not a real deployment"
ITEMS: tuple[tuple[str, str], ...] = (
    ("risk-tier", "Risk tier assigned and documented"),
    ("compliance-controls", "Compliance requirements documented and controls confirmed"),
    ("warm-transfer-tested", "Warm-transfer path tested in staging with real context payloads"),
    ("monitoring-alerts", "Monitoring alert thresholds configured and tested"),
    ("escalation-triggers", "Escalation triggers defined"),
    ("rollback-plan", "Rollback plan documented"),
    ("governance-sign-off", "Governance sign-off recorded with named reviewer and date"),
)
ITEM_IDS = tuple(item for item, _ in ITEMS)


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick (or clearing) of an item."""

    use_case: str
    item: str
    by: str
    evidence: str = ""
    done: bool = True


@dataclass(frozen=True, slots=True)
class ItemState:
    item: str
    text: str
    done: bool
    by: str | None
    at: float | None
    evidence: str
    demo: bool

    def counts(self, accept_demo: bool) -> bool:
        return self.done and (accept_demo or not self.demo)


def tick(db: Database, request: Tick, at: float | None = None) -> None:
    """Record a tick or a clearing (audited). Raises GovernanceError."""
    _check(request)
    db.execute(_tick, request, time.time() if at is None else at, db)


def _check(request: Tick) -> None:
    if request.item not in ITEM_IDS:
        raise GovernanceError("checklist-item-unknown", f"items: {', '.join(ITEM_IDS)}")
    if not request.by.strip():
        raise GovernanceError("usecase-actor-missing", "say who ticks the item")
    if request.done and not request.evidence.strip():
        raise GovernanceError("checklist-needs-evidence", "a tick names its evidence (a link)")
    if len(request.evidence) > MAX_EVIDENCE:
        raise GovernanceError("checklist-evidence-too-long", f"at most {MAX_EVIDENCE} characters")


def _tick(conn: Connection, request: Tick, at: float, db: Database) -> None:
    known = conn.execute("SELECT 1 FROM use_cases WHERE id = ?", (request.use_case,)).fetchone()
    if known is None or request.use_case == "*":
        raise GovernanceError("usecase-unknown", f"no use case {request.use_case!r}")
    _insert(conn, request, at, demo=False)
    event = AuditEvent(
        actor=request.by.strip(), actor_role="operator", action="usecase.checklist",
        object_type="use_case", object_id=request.use_case,
        reason_code=f"{request.item}:{'done' if request.done else 'cleared'}",
        component="governance", at=at,
    )  # fmt: skip
    append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)


def _insert(conn: Connection, request: Tick, at: float, demo: bool) -> None:
    conn.execute(
        "INSERT INTO use_case_checklist (use_case, version, item, done, by, at, evidence, demo)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (request.use_case, CHECKLIST_VERSION, request.item, int(request.done),
         request.by.strip(), at, request.evidence.strip(), int(demo)),
    )  # fmt: skip


def seed_demo_in(conn: Connection, use_case: str, at: float) -> None:
    """Tick every item of a demo-seeded use case, marked demo (inside the caller's
    transaction; the use case's creation is the audit record)."""
    for item in ITEM_IDS:
        _insert(conn, Tick(use_case, item, "demo-seed", DEMO_EVIDENCE), at, demo=True)


def items_in(conn: Connection, use_case: str) -> list[ItemState]:
    """Each item of the current version with its newest row (not done when none)."""
    rows = conn.execute(
        "SELECT item, done, by, at, evidence, demo FROM use_case_checklist"
        " WHERE use_case = ? AND version = ? ORDER BY seq",
        (use_case, CHECKLIST_VERSION),
    ).fetchall()
    newest = {str(r[0]): r for r in rows}
    states = []
    for item, text in ITEMS:
        row = newest.get(item)
        if row is None:
            states.append(ItemState(item, text, False, None, None, "", False))
            continue
        states.append(
            ItemState(item, text, bool(row[1]), str(row[2]), float(row[3]), str(row[4]),
                      bool(row[5]))
        )  # fmt: skip
    return states


def missing_in(conn: Connection, use_case: str, accept_demo: bool) -> list[str]:
    """The items that do not count as done."""
    return [s.item for s in items_in(conn, use_case) if not s.counts(accept_demo)]


def items(db: Database, use_case: str) -> list[ItemState]:
    def read(conn: Connection) -> list[ItemState]:
        known = conn.execute("SELECT 1 FROM use_cases WHERE id = ?", (use_case,)).fetchone()
        if known is None or use_case == "*":
            raise GovernanceError("usecase-unknown", f"no use case {use_case!r}")
        return items_in(conn, use_case)

    return db.query(read)

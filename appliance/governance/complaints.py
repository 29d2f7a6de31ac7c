"""Complaint flags: a quality reviewer or contact-centre lead marks a call a complaint
(the console's call page, "flag as complaint"), with a reason code from a fixed list.

Append-only: a flag is never changed or removed (triggers refuse UPDATE, and DELETE
while its call exists; the retention purge deletes it with the call). Each flag is
audited (`call.complaint-flagged`, the user named, the reason code; no words). The
phase gate's escalation-to-complaint criterion counts a flagged escalated call as a
complaint (appliance/governance/gate_metrics.py).
"""

from __future__ import annotations

import time
from typing import Any

from appliance.errors import ApplianceError
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

COMPLAINTS_VERSION = 18  # the user_version this migration leaves (the only number to change)
REASONS = (
    "caller-complained",  # the caller complained to the desk or in writing
    "wrong-handling",  # the agent handled the call wrongly (a reviewer's judgement)
    "transfer-problem",  # the handoff went wrong (lost, long hold, missing context)
    "other",
)
ACTION = "call.complaint-flagged"

COMPLAINTS_MIGRATION = Migration(
    COMPLAINTS_VERSION,
    """
    CREATE TABLE complaint_flags (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id    TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        flagged_by TEXT NOT NULL,       -- the console user's name
        flagged_at REAL NOT NULL,       -- UNIX s
        reason     TEXT NOT NULL CHECK (reason IN
                   ('caller-complained', 'wrong-handling', 'transfer-problem', 'other'))
    );
    CREATE INDEX complaint_flags_call ON complaint_flags(call_id);
    CREATE TRIGGER complaint_flags_no_update BEFORE UPDATE ON complaint_flags
    BEGIN SELECT RAISE(ABORT, 'complaint flags are append-only'); END;
    CREATE TRIGGER complaint_flags_no_delete BEFORE DELETE ON complaint_flags
    WHEN EXISTS (SELECT 1 FROM calls WHERE call_id = OLD.call_id)
    BEGIN SELECT RAISE(ABORT, 'complaint flags are deleted only with their call'); END;
    """,
)


def flag_call(
    conn: Connection,
    call_id: str,
    reason: str,
    by: tuple[str, str, str],
    audit: tuple[Any, int] = (None, 100),
    now: float | None = None,
) -> int:
    """Flag `call_id` as a complaint; the flag's id. `by`: the user's name, role and
    component. Raises complaint-bad-reason, complaint-unknown-call."""
    if reason not in REASONS:
        raise ApplianceError("complaint-bad-reason", "the reason is not one of the fixed list")
    if conn.execute("SELECT 1 FROM calls WHERE call_id = ?", (call_id,)).fetchone() is None:
        raise ApplianceError("complaint-unknown-call", "no such call in this store")
    at = time.time() if now is None else now
    cursor = conn.execute(
        "INSERT INTO complaint_flags (call_id, flagged_by, flagged_at, reason) VALUES (?, ?, ?, ?)",
        (call_id, by[0], at, reason),
    )
    event = AuditEvent(
        actor=by[0],
        actor_role=by[1],
        action=ACTION,
        object_type="call",
        object_id=call_id,
        call_id=call_id,
        component=by[2],
        reason_code=reason,
        at=at,
    )
    append_audit(conn, event, *audit)
    return int(cursor.lastrowid or 0)


def store_flag(db: Database, call_id: str, reason: str, by: tuple[str, str, str]) -> int:
    """`flag_call` in one write transaction, with the store's audit signer."""
    return db.execute(flag_call, call_id, reason, by, (db.audit_signer, db.audit_checkpoint_every))


def flagged_calls(conn: Connection, call_ids: list[str] | None = None) -> set[str]:
    """The calls with a complaint flag (of `call_ids`, or all)."""
    rows = conn.execute("SELECT DISTINCT call_id FROM complaint_flags").fetchall()
    found = {str(r[0]) for r in rows}
    return found if call_ids is None else found & set(call_ids)


def flags_of(conn: Connection, call_id: str) -> list[tuple[str, float, str]]:
    """(user, at, reason) of each flag of the call, oldest first."""
    rows = conn.execute(
        "SELECT flagged_by, flagged_at, reason FROM complaint_flags WHERE call_id = ? ORDER BY id",
        (call_id,),
    ).fetchall()
    return [(str(r[0]), float(r[1]), str(r[2])) for r in rows]

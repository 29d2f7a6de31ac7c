"""Identity lockout across calls: too many failed identifications from one caller.

A caller is known only by a keyed hash of their number (appliance.store.pseudonyms):
the number itself is never stored. After `max_failures` failed identifications (a name
and a date of birth heard that matched no one) within `window_s`, identity is refused
for that caller until `window_s` after the lock (the call goes to a human). A success
does not clear the count (else one known identity would reset a guesser's tries). Each
lockout appends an audit record (`identity.locked`, metadata only) in the same
transaction. Store migration 5 (appliance.services.app_db puts it in order).
"""

from __future__ import annotations

from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

LOCKOUT_MIGRATION = Migration(
    5,
    """
CREATE TABLE identity_lockouts (
    caller_hash      TEXT PRIMARY KEY,  -- HMAC-SHA256 of the caller's number (hex)
    failures         INTEGER NOT NULL,  -- failed identifications since first_failure_at
    first_failure_at REAL NOT NULL,     -- UNIX s
    locked_until     REAL               -- UNIX s; NULL when not locked
);
""",
)
LOCKED_REASON = "identity-locked"


class IdentityLockouts:
    def __init__(self, db: Database, max_failures: int = 3, window_s: float = 86400.0) -> None:
        self._db = db
        self.max_failures = max_failures
        self.window_s = window_s

    async def locked(self, caller_hash: str, now: float) -> bool:
        """Whether identity is refused for this caller now."""
        return bool(await self._db.run_query(_locked, caller_hash, now))

    async def failed(self, caller_hash: str, call_id: str, now: float) -> bool:
        """Count one failed identification; True when it locks the caller out (audited)."""
        return bool(await self._db.run(self._failed, caller_hash, call_id, now))

    def _failed(self, conn: Connection, caller_hash: str, call_id: str, now: float) -> bool:
        row = conn.execute(
            "SELECT failures, first_failure_at, locked_until FROM identity_lockouts"
            " WHERE caller_hash = ?",
            (caller_hash,),
        ).fetchone()
        if row is not None and row[2] is not None and float(row[2]) > now:
            return True  # already locked (another call locked it meanwhile)
        fresh = row is None or float(row[1]) <= now - self.window_s or row[2] is not None
        failures, first = (1, now) if fresh else (int(row[0]) + 1, float(row[1]))
        locks = failures >= self.max_failures
        conn.execute(
            "INSERT OR REPLACE INTO identity_lockouts"
            " (caller_hash, failures, first_failure_at, locked_until) VALUES (?, ?, ?, ?)",
            (caller_hash, failures, first, now + self.window_s if locks else None),
        )
        if locks:
            append_audit(
                conn,
                _locked_event(call_id, now),
                self._db.audit_signer,
                self._db.audit_checkpoint_every,
            )
        return locks


def _locked(conn: Connection, caller_hash: str, now: float) -> bool:
    row = conn.execute(
        "SELECT locked_until FROM identity_lockouts WHERE caller_hash = ?", (caller_hash,)
    ).fetchone()
    return row is not None and row[0] is not None and float(row[0]) > now


def _locked_event(call_id: str, now: float) -> AuditEvent:
    """Metadata only: not the number, nor its hash."""
    return AuditEvent(
        actor="agent",
        actor_role="system",
        action="identity.locked",
        outcome="ok",
        object_type="caller",
        reason_code=LOCKED_REASON,
        call_id=call_id or None,
        component="workflow",
        at=now,
    )

"""Retention: remove transcript text older than the configured number of days.

Call metadata (times, codec, outcome, turn timings) stays; each turn's text is replaced
by an empty string and `purged_at` is set. With `secure_delete` on and a WAL checkpoint
afterwards, the old text is overwritten in the database file, not only unlinked.
Every purge appends an audit record (action `retention.purge`, object id = turn count).
"""

from __future__ import annotations

import time

from appliance.errors import StoreError
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

DAY_S = 86400.0


def purge_transcripts(
    db: Database, days: int, *, now: float | None = None, actor: str = "cli"
) -> int:
    """Purge the text of turns that ended more than `days` days ago; returns how many."""
    if days < 1:
        raise StoreError("retention-bad-days", "retention must be at least 1 day")
    at = time.time() if now is None else now
    count = db.execute(_purge, at - days * DAY_S, at, days, actor, db)
    db.checkpoint()
    return count


def _purge(conn: Connection, cutoff: float, at: float, days: int, actor: str, db: Database) -> int:
    cursor = conn.execute(
        "UPDATE turns SET text = '', purged_at = ? WHERE purged_at IS NULL AND ended_at < ?",
        (at, cutoff),
    )
    count = max(cursor.rowcount, 0)
    event = AuditEvent(
        actor=actor,
        actor_role="system" if actor == "supervisor" else "operator",
        action="retention.purge",
        object_type="turn-text",
        object_id=str(count),
        reason_code=f"older-than-{days}d",
        component="retention",
        at=at,
    )
    append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)
    return count

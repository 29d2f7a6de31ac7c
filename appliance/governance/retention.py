"""Retention per data class: delete what is older than its configured number of days.

- turn-text (turns.text): emptied, `purged_at` set, timings stay;
  [store] transcript_retention_days
- handoff (handoffs): whole rows (packet JSON); [retention] handoff_days
- caller-message (caller_messages): whole rows; [retention] message_days
- call (calls with their turns and call_events): ended calls; [retention] call_days
- audio (turn_audio): the quality sample's caller audio, by when the turn was spoken;
  [retention] audio_days (also deleted with its turn and when the turn's text is purged)
- audit (audit): never deleted (see below); [retention] audit_days (>= 6 years)

No other audio is recorded.

Audit records are not deleted, even past `audit_days`: the table is append-only by
trigger, and the chain starts at record 1 from a fixed genesis hash, so deleting the head
would make `appliance audit verify` report every later record as missing. The purge only
counts audit records past their retention (`audit` in the report) so an operator can
export them (`appliance audit export`) before the hardware is retired.

All classes are purged in one transaction together with one audit record per class
(action `retention.purge`, object type = class, object id = rows purged, reason
`older-than-<days>d`; counts only, no PHI), then the file is vacuumed (`secure_delete`
already overwrote the freed pages) and the WAL truncated. VACUUM holds the write lock for
its whole run (2.8 s measured on a 370 MB store of 1M turns), so it waits while a call is
in progress (open and answered within `CALL_IN_PROGRESS_S`): the next purge vacuums, and
until then SQLite reuses the freed pages.

The cutoffs come from the wall clock, so the purge first checks it, inside the same write
transaction (appliance/governance/retention_clock.py): on a clock that looks wrong (behind
the audit log, stepped against the monotonic clock since the last purge, or far ahead of
the last purge) it deletes nothing and reports `retention-clock-suspect` (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from appliance.config import Settings
from appliance.errors import StoreError
from appliance.governance.retention_clock import (
    CLOCK_SUSPECT,
    RetentionClock,
    StoreTimes,
)
from appliance.quality.audio_store import purge_audio
from appliance.store.audit import AuditEvent, append_audit, utc_iso
from appliance.store.db import Connection, Database

logger = logging.getLogger(__name__)

DAY_S = 86400.0
# an open call answered this recently is in progress (longer than [sip] max_call_s, 1 h);
# older open calls were left by a crash (closed as "interrupted" at the next start-up)
CALL_IN_PROGRESS_S = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Days each data class is kept."""

    transcript_days: int
    handoff_days: int
    message_days: int
    call_days: int
    audit_days: int
    audio_days: int = 14

    @classmethod
    def from_settings(
        cls, settings: Settings, transcript_days: int | None = None
    ) -> RetentionPolicy:
        r = settings.retention
        return cls(
            transcript_days=settings.store.transcript_retention_days
            if transcript_days is None
            else transcript_days,
            handoff_days=r.handoff_days,
            message_days=r.message_days,
            call_days=r.call_days,
            audit_days=r.audit_days,
            audio_days=r.audio_days,
        )

    def check(self) -> None:
        days = (
            self.transcript_days,
            self.handoff_days,
            self.message_days,
            self.call_days,
            self.audio_days,
        )
        if min(days) < 1:
            raise StoreError("retention-bad-days", "retention must be at least 1 day")


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """Rows purged per class; `audit_past_retention`: audit records kept although older;
    `clock_suspect`: why the purge was skipped (nothing deleted), None when it ran."""

    counts: dict[str, int]
    audit_past_retention: int
    vacuumed: bool
    clock_suspect: str | None = None

    def line(self) -> str:
        if self.clock_suspect is not None:
            return f"purge skipped ({CLOCK_SUSPECT}): {self.clock_suspect}; nothing deleted"
        parts = ", ".join(f"{name} {n}" for name, n in self.counts.items())
        return f"purged {parts}; audit records past retention (kept) {self.audit_past_retention}"


def purge(
    db: Database,
    policy: RetentionPolicy,
    *,
    now: float | None = None,
    clock: RetentionClock | None = None,
    actor: str = "cli",
    vacuum: bool = True,
    clock_checked: bool = False,
) -> PurgeReport:
    """Delete every class's expired rows (one audited transaction), then vacuum.

    `clock`: the wall and monotonic clocks, and the last purge this process ran (a new
    one per call when None; `now` fixes its wall clock). `clock_checked`: an operator
    checked the clock, skip the clock check. A vacuum that cannot run now (a call in
    progress, another process writing) is skipped: the freed pages were already
    overwritten (`secure_delete`); the next purge vacuums.
    """
    policy.check()
    if clock is None:
        clock = RetentionClock() if now is None else RetentionClock(wall=lambda: now)
    reading = clock.read()
    at = reading.wall

    def suspect(conn: Connection) -> str | None:
        return None if clock_checked else clock.suspect(reading, _store_times(conn))

    counts, old_audit, problem = db.execute(_purge_all, policy, at, actor, db, suspect)
    if problem is not None:
        extra = {"stage": "retention", "code": CLOCK_SUSPECT, "reason": problem}
        logger.warning("retention purge skipped: the clock looks wrong", extra=extra)
        return PurgeReport({}, 0, False, problem)
    clock.ran(reading)
    vacuumed = False
    if vacuum and calls_in_progress(db, at) == 0:
        try:
            db.vacuum()
            vacuumed = True
        except StoreError:
            db.checkpoint()
    return PurgeReport(counts, old_audit, vacuumed)


def calls_in_progress(db: Database, now: float) -> int:
    """Open calls answered within `CALL_IN_PROGRESS_S` of `now` (any agent process)."""
    sql = "SELECT count(*) FROM calls WHERE ended_at IS NULL AND started_at > ?"
    return int(db.query(lambda c: c.execute(sql, (now - CALL_IN_PROGRESS_S,)).fetchone()[0]))


def _store_times(conn: Connection) -> StoreTimes:
    """The newest audit record's time and the last purge's (a backward scan: the
    running appliance purges daily)."""
    newest = conn.execute("SELECT at FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    purged = conn.execute(
        "SELECT at FROM audit WHERE action = 'retention.purge' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return StoreTimes(_seconds(newest), _seconds(purged))


def _seconds(row: tuple[str] | None) -> float | None:
    return datetime.fromisoformat(str(row[0])).timestamp() if row else None


def _purge_all(
    conn: Connection,
    policy: RetentionPolicy,
    at: float,
    actor: str,
    db: Database,
    suspect: Callable[[Connection], str | None],
) -> tuple[dict[str, int], int, str | None]:
    problem = suspect(conn)
    if problem is not None:
        return {}, 0, problem
    classes = (
        ("turn-text", policy.transcript_days),
        ("handoff", policy.handoff_days),
        ("caller-message", policy.message_days),
        ("call", policy.call_days),
        ("audio", policy.audio_days),
    )
    counts = {name: _purge_one(conn, name, days, at, actor, db) for name, days in classes}
    cutoff = utc_iso(at - policy.audit_days * DAY_S)
    row = conn.execute("SELECT count(*) FROM audit WHERE at < ?", (cutoff,)).fetchone()
    return counts, int(row[0]), None


def _purge_one(conn: Connection, name: str, days: int, at: float, actor: str, db: Database) -> int:
    cutoff = at - days * DAY_S
    count = _DELETERS[name](conn, cutoff, at)
    event = AuditEvent(
        actor=actor,
        actor_role="system" if actor == "supervisor" else "operator",
        action="retention.purge",
        object_type=name,
        object_id=str(count),
        reason_code=f"older-than-{days}d",
        component="retention",
        at=at,
    )
    append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)
    return count


def _turn_text(conn: Connection, cutoff: float, at: float) -> int:
    cursor = conn.execute(
        "UPDATE turns SET text = '', purged_at = ? WHERE purged_at IS NULL AND ended_at < ?",
        (at, cutoff),
    )
    return max(cursor.rowcount, 0)


def _handoffs(conn: Connection, cutoff: float, at: float) -> int:
    return max(conn.execute("DELETE FROM handoffs WHERE created_at < ?", (cutoff,)).rowcount, 0)


def _messages(conn: Connection, cutoff: float, at: float) -> int:
    cursor = conn.execute("DELETE FROM caller_messages WHERE created_at < ?", (cutoff,))
    return max(cursor.rowcount, 0)


def _calls(conn: Connection, cutoff: float, at: float) -> int:
    """Ended calls older than the cutoff, with their turns and events (calls still
    open are left to the crash recovery that marks them interrupted)."""
    conn.execute(
        "DELETE FROM turns WHERE call_id IN"
        " (SELECT call_id FROM calls WHERE ended_at IS NOT NULL AND ended_at < ?)",
        (cutoff,),
    )
    conn.execute(
        "DELETE FROM call_events WHERE call_id IN"
        " (SELECT call_id FROM calls WHERE ended_at IS NOT NULL AND ended_at < ?)",
        (cutoff,),
    )
    cursor = conn.execute(
        "DELETE FROM calls WHERE ended_at IS NOT NULL AND ended_at < ?", (cutoff,)
    )
    return max(cursor.rowcount, 0)


def _audio(conn: Connection, cutoff: float, at: float) -> int:
    return purge_audio(conn, cutoff)


_DELETERS = {
    "turn-text": _turn_text,
    "handoff": _handoffs,
    "caller-message": _messages,
    "call": _calls,
    "audio": _audio,
}

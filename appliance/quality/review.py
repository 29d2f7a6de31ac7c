"""The quality reviewer's queue: every `unsure` judge verdict waits here for a person.

A reviewer records one decision per queued score: `agree` (the judge's verdict stands)
or `override` with their own verdict (pass / fail / n/a). The score row itself never
changes (call_scores is immutable); the decision sits beside it, is made once (a trigger
refuses a second), and is audited (`quality.review`, the reviewer as actor, the score id
and the decision as codes). Rows go with their call (ON DELETE CASCADE).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from appliance.errors import StoreError
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

REVIEW_VERSION = 15  # the user_version this migration leaves
DECISIONS = ("agree", "override")
OVERRIDE_VERDICTS = ("pass", "fail", "n/a")

REVIEW_MIGRATION = Migration(
    REVIEW_VERSION,
    """
    CREATE TABLE score_reviews (
        score_id   INTEGER PRIMARY KEY REFERENCES call_scores(id) ON DELETE CASCADE,
        call_id    TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        queued_at  REAL NOT NULL,                 -- UNIX s
        decision   TEXT CHECK (decision IN ('agree', 'override')),
        verdict    TEXT CHECK (verdict IN ('pass', 'fail', 'unsure', 'n/a')),  -- final
        reviewer   TEXT,                          -- console user name
        decided_at REAL                           -- UNIX s
    );
    CREATE INDEX score_reviews_open ON score_reviews(decided_at, queued_at);
    CREATE TRIGGER score_reviews_once BEFORE UPDATE ON score_reviews
    WHEN OLD.decided_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a review decision is made once'); END;
    CREATE TRIGGER score_reviews_no_delete BEFORE DELETE ON score_reviews
    WHEN EXISTS (SELECT 1 FROM calls WHERE call_id = OLD.call_id)
    BEGIN SELECT RAISE(ABORT, 'reviews are deleted only with their call'); END;
    """,
)


@dataclass(frozen=True, slots=True)
class QueueItem:
    score_id: int
    call_id: str
    evaluator: str
    verdict: str  # the judge's (unsure)
    reason: str  # a code
    evidence: str  # JSON list of turn ids
    queued_at: float
    decision: str | None
    final_verdict: str | None
    reviewer: str | None
    decided_at: float | None

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


def enqueue(conn: Connection, score_id: int, call_id: str, at: float) -> None:
    """Queue one score for review (inside the scoring transaction)."""
    conn.execute(
        "INSERT INTO score_reviews (score_id, call_id, queued_at) VALUES (?, ?, ?)",
        (score_id, call_id, at),
    )


def queue(db: Database, *, open_only: bool = True, limit: int = 500) -> list[QueueItem]:
    """Queued scores, oldest first (only those awaiting a decision by default)."""
    return db.query(_select, open_only, limit)


def decide(
    db: Database,
    score_id: int,
    reviewer: str,
    override: str | None = None,
    now: float | None = None,
) -> QueueItem:
    """Record a reviewer's decision: agree (override None) or override with a verdict.

    Raises StoreError quality-review-unknown / quality-review-decided /
    quality-review-bad-verdict / quality-review-no-reviewer."""
    name = reviewer.strip()
    if not name:
        raise StoreError("quality-review-no-reviewer", "a decision names its reviewer")
    if override is not None and override not in OVERRIDE_VERDICTS:
        raise StoreError("quality-review-bad-verdict", "override with pass, fail or n/a")
    at = time.time() if now is None else now
    db.execute(_decide, db, score_id, name, override, at)
    return next(i for i in queue(db, open_only=False) if i.score_id == score_id)


def _decide(
    conn: Connection, db: Database, score_id: int, reviewer: str, override: str | None, at: float
) -> None:
    row = conn.execute(
        "SELECT r.decided_at, s.verdict, r.call_id FROM score_reviews r"
        " JOIN call_scores s ON s.id = r.score_id WHERE r.score_id = ?",
        (score_id,),
    ).fetchone()
    if row is None:
        raise StoreError("quality-review-unknown", "no such score in the review queue")
    if row[0] is not None:
        raise StoreError("quality-review-decided", "this score was already reviewed")
    decision = "agree" if override is None else "override"
    verdict = str(row[1]) if override is None else override
    conn.execute(
        "UPDATE score_reviews SET decision = ?, verdict = ?, reviewer = ?, decided_at = ?"
        " WHERE score_id = ?",
        (decision, verdict, reviewer, at, score_id),
    )
    event = AuditEvent(
        actor=reviewer, actor_role="quality-reviewer", action="quality.review",
        object_type="call_score", object_id=str(score_id),
        reason_code=f"{decision}:{verdict}", call_id=str(row[2]), component="quality", at=at,
    )  # fmt: skip
    append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)


def _select(conn: Connection, open_only: bool, limit: int) -> list[QueueItem]:
    rows = conn.execute(
        "SELECT r.score_id, r.call_id, s.evaluator, s.verdict, s.reason, s.evidence,"
        " r.queued_at, r.decision, r.verdict, r.reviewer, r.decided_at"
        " FROM score_reviews r JOIN call_scores s ON s.id = r.score_id"
        " WHERE r.decided_at IS NULL OR NOT ? ORDER BY r.queued_at, r.score_id LIMIT ?",
        (open_only, limit),
    ).fetchall()
    return [QueueItem(*r) for r in rows]

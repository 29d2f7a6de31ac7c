"""The call_scores table: one immutable row per evaluator result of a call.

Its migration's number is `SCORES_VERSION` (appliance.services.app_db puts it in the
application's order). Rows are never updated; they are deleted only with their call
(the retention purge deletes the call: ON DELETE CASCADE, foreign keys are on), and the
triggers refuse any other UPDATE or DELETE.
"""

from __future__ import annotations

from appliance.store.migrations import Migration

SCORES_VERSION = 9  # the user_version this migration leaves (the only number to change)
VERDICTS = ("pass", "fail", "unsure", "n/a")

SCORES_MIGRATION = Migration(
    SCORES_VERSION,
    """
    CREATE TABLE call_scores (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id           TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        evaluator         TEXT NOT NULL,
        evaluator_version TEXT NOT NULL,    -- hash of the rules' source and parameters
        verdict           TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'unsure', 'n/a')),
        score             REAL,
        reason            TEXT NOT NULL,    -- a short code, never caller words
        evidence          TEXT NOT NULL,    -- JSON list: "turn:<seq>", "event:<id>"
        scored_at         REAL NOT NULL     -- UNIX s
    );
    CREATE INDEX call_scores_call ON call_scores(call_id, evaluator, evaluator_version);
    CREATE INDEX call_scores_scored ON call_scores(scored_at);
    CREATE TRIGGER call_scores_no_update BEFORE UPDATE ON call_scores
    BEGIN SELECT RAISE(ABORT, 'call scores are immutable'); END;
    CREATE TRIGGER call_scores_no_delete BEFORE DELETE ON call_scores
    WHEN EXISTS (SELECT 1 FROM calls WHERE call_id = OLD.call_id)
    BEGIN SELECT RAISE(ABORT, 'call scores are deleted only with their call'); END;
    """,
)

"""Migration 13: the rollout's pre-deployment checklists and sign-offs (governance part 2).

Both tables are append-only (triggers refuse UPDATE and DELETE): a checklist item's state
is its newest row for the checklist's current version, a sign-off is never changed. Rows
hold names of console users, codes, links and counts: no caller data.
"""

from __future__ import annotations

from appliance.store.migrations import Migration

ROLLOUT_VERSION = 13  # the user_version this migration leaves (the only number to change)

ROLLOUT_MIGRATION = Migration(
    ROLLOUT_VERSION,
    """
    CREATE TABLE use_case_checklist (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        use_case TEXT NOT NULL,
        version  INTEGER NOT NULL,          -- the checklist's version (its items)
        item     TEXT NOT NULL,
        done     INTEGER NOT NULL CHECK (done IN (0, 1)),
        by       TEXT NOT NULL,             -- who ticked (or cleared) it: the named reviewer
        at       REAL NOT NULL,             -- UNIX s: the date of the tick
        evidence TEXT NOT NULL DEFAULT '',  -- a link: URL, document path, ticket
        demo     INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1))
    );
    CREATE INDEX use_case_checklist_case ON use_case_checklist(use_case, version, item);
    CREATE TRIGGER use_case_checklist_immutable_u BEFORE UPDATE ON use_case_checklist
    BEGIN SELECT RAISE(ABORT, 'checklist rows are append-only'); END;
    CREATE TRIGGER use_case_checklist_immutable_d BEFORE DELETE ON use_case_checklist
    BEGIN SELECT RAISE(ABORT, 'checklist rows are append-only'); END;
    CREATE TABLE use_case_signoffs (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        use_case        TEXT NOT NULL,
        at              REAL NOT NULL,
        state           TEXT NOT NULL,      -- the use case's state when signed
        to_state        TEXT,               -- the change approved; NULL: a review sign-off
        requested_by    TEXT NOT NULL,
        approved_by     TEXT NOT NULL,
        approver_role   TEXT NOT NULL,
        comment         TEXT NOT NULL,
        evidence_sha256 TEXT NOT NULL,      -- sha256 of `evidence`
        evidence        TEXT NOT NULL       -- the gate evidence (JSON: counts and verdicts)
    );
    CREATE INDEX use_case_signoffs_case ON use_case_signoffs(use_case, at);
    CREATE TRIGGER use_case_signoffs_immutable_u BEFORE UPDATE ON use_case_signoffs
    BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only'); END;
    CREATE TRIGGER use_case_signoffs_immutable_d BEFORE DELETE ON use_case_signoffs
    BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only'); END;
    """,
)

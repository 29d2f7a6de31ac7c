"""Numbered schema migrations, tracked with PRAGMA user_version."""

from __future__ import annotations

from appliance.scheduling.schema import SCHEDULE_MIGRATION
from appliance.workflows.handoff_sql import HANDOFF_MIGRATION

MIGRATIONS: list[str] = [
    # 1: calls, turns, call events
    """
    CREATE TABLE calls (
        call_id     TEXT PRIMARY KEY,
        started_at  REAL NOT NULL,          -- UNIX s
        ended_at    REAL,                   -- UNIX s
        codec       TEXT NOT NULL,
        remote_hash TEXT NOT NULL,
        outcome     TEXT
    );
    CREATE INDEX calls_started ON calls(started_at);
    CREATE TABLE turns (
        call_id        TEXT NOT NULL REFERENCES calls(call_id),
        seq            INTEGER NOT NULL,
        speaker        TEXT NOT NULL CHECK (speaker IN ('caller', 'agent')),
        text           TEXT NOT NULL,       -- PHI
        started_at     REAL NOT NULL,
        ended_at       REAL NOT NULL,
        timings        TEXT NOT NULL,       -- JSON, s relative to the end of caller speech
        stt_confidence REAL,
        PRIMARY KEY (call_id, seq)
    );
    CREATE TABLE call_events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL REFERENCES calls(call_id),
        kind    TEXT NOT NULL,
        stage   TEXT,
        code    TEXT,
        at      REAL NOT NULL
    );
    CREATE INDEX call_events_call ON call_events(call_id);
    """,
    # 2: the built-in schedule (providers, hours, holidays, patients, appointments)
    SCHEDULE_MIGRATION,
    # 3: tamper-evident audit log (metadata only, no PHI), retention marker on turns
    """
    CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY,    -- 1, 2, ... no gaps
        at          TEXT NOT NULL,          -- UTC ISO 8601
        actor       TEXT NOT NULL,
        actor_role  TEXT NOT NULL,
        action      TEXT NOT NULL,
        object_type TEXT,
        object_id   TEXT,
        outcome     TEXT NOT NULL,
        reason_code TEXT,
        call_id     TEXT,
        component   TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
    CREATE TABLE audit_checkpoints (
        seq       INTEGER PRIMARY KEY,      -- the last audit record it covers
        hash      TEXT NOT NULL,
        at        TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        signature TEXT NOT NULL             -- Ed25519, hex
    );
    CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
    CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
    ALTER TABLE turns ADD COLUMN purged_at REAL;  -- UNIX s when retention removed the text
    """,
    # 4: handoff packets (screen-pop) and caller messages after a failed transfer (PHI)
    HANDOFF_MIGRATION,
]

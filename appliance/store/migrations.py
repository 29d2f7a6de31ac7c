"""Numbered schema migrations, tracked with PRAGMA user_version."""

from __future__ import annotations

from appliance.scheduling.schema import SCHEDULE_MIGRATION

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
]

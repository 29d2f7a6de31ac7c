"""Store migration 4 (appliance.services.app_db puts it in the application's order): handoff packets
and the messages callers leave when a transfer fails. Both hold PHI (JSON packets with
names and dates of birth, the caller's words, callback numbers): they live only in the
SQLCipher store."""

from __future__ import annotations

from appliance.store.migrations import Migration

HANDOFF_MIGRATION = Migration(
    4,
    """
CREATE TABLE handoffs (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- the screen-pop's event id
    handoff_id TEXT NOT NULL UNIQUE,
    call_id    TEXT NOT NULL,
    created_at REAL NOT NULL,                      -- UNIX s
    reason     TEXT NOT NULL,                      -- escalation reason code
    packet     TEXT NOT NULL,                      -- JSON (schema-validated), PHI
    outcome    TEXT                                -- success|busy|no_answer|timeout|failed
);
CREATE INDEX handoffs_created ON handoffs(created_at);
CREATE TABLE caller_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id         TEXT NOT NULL,
    handoff_id      TEXT,
    created_at      REAL NOT NULL,                 -- UNIX s
    reason          TEXT NOT NULL,                 -- why a message was taken (a code)
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'callback')),
    callback_number TEXT,                          -- PHI, as the caller said it
    body            TEXT NOT NULL,                 -- PHI, the caller's words
    status          TEXT NOT NULL DEFAULT 'new'
);
CREATE INDEX caller_messages_created ON caller_messages(created_at);
""",
)

"""Numbered schema migrations, tracked with PRAGMA user_version, and the runner's helpers.

store/ owns the migrations of its own tables (calls, audit). The packages that own other
tables export theirs (appliance.scheduling.schema, appliance.workflows.handoff_sql), and
appliance.services.app_db assembles the application's one ordered list, which every
`Database.open` is given. A migration's number is the user_version it leaves: never
renumber, reorder or edit one that has shipped (installed stores replay none of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlcipher3

from appliance.errors import StoreError


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: `sql` runs in one transaction, then user_version = `number`."""

    number: int  # 1, 2, ... in the application's order
    sql: str


# 1: calls, turns, call events
CALLS_MIGRATION = Migration(
    1,
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
)

# 3: tamper-evident audit log (metadata only, no PHI), retention marker on turns
AUDIT_MIGRATION = Migration(
    3,
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
)


# 6: the agent worker that handles each call, so that the worker's next start closes the
# calls its dead process left open (kill -9, OOM kill, watchdog)
CALLS_WORKER_MIGRATION = Migration(
    6,
    """
    ALTER TABLE calls ADD COLUMN worker INTEGER;  -- `agent --worker N`, NULL without one
    CREATE INDEX calls_open ON calls(worker) WHERE ended_at IS NULL;
    """,
)


def check_sequence(migrations: Sequence[Migration]) -> None:
    """Raise StoreError store-migration-order unless numbered 1, 2, ... with no gap."""
    numbers = [m.number for m in migrations]
    if not numbers or numbers != list(range(1, len(numbers) + 1)):
        raise StoreError("store-migration-order", f"migrations out of order: {numbers}")


def next_migration(version: int, migrations: Sequence[Migration]) -> Migration | None:
    """The migration a store at `version` lacks; None when current.

    Raises StoreError store-schema-newer when the store is newer than `migrations`.
    """
    if version > len(migrations):
        raise StoreError(
            "store-schema-newer", f"schema {version} is newer than this release ({len(migrations)})"
        )
    return None if version == len(migrations) else migrations[version]


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements with SQLite's own tokenizer."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlcipher3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise StoreError("store-migration-failed", "incomplete SQL statement in a migration")
    return statements

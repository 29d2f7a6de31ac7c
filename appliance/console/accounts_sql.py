"""The console's tables (migration 7): users, enrolment links, recovery codes, sign-in
failures and server-side sessions.

Secrets are stored only as what checking them needs: argon2id for passwords, SHA-256 for
the high-entropy tokens (enrolment links, session ids, recovery codes). The TOTP secret
itself must be kept to compute codes; the store is encrypted (SQLCipher).
"""

from __future__ import annotations

from appliance.store.migrations import Migration

ACCOUNTS_MIGRATION = Migration(
    7,
    """
    CREATE TABLE console_users (
        user_id        INTEGER PRIMARY KEY,
        name           TEXT NOT NULL UNIQUE,  -- lower case, [a-z0-9._-]
        role           TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
        password_hash  TEXT,                  -- argon2id (PHC string); NULL until enrolled
        totp_secret    TEXT NOT NULL,         -- base32
        totp_last_step INTEGER NOT NULL DEFAULT 0,  -- the last accepted step (no replay)
        locked_until   REAL,                  -- UNIX s
        created_at     REAL NOT NULL,
        enrolled_at    REAL
    );
    CREATE TABLE console_enrolments (
        token_hash TEXT PRIMARY KEY,          -- SHA-256 hex of the link's token
        user_id    INTEGER NOT NULL REFERENCES console_users(user_id),
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at    REAL
    );
    CREATE TABLE console_recovery_codes (
        user_id   INTEGER NOT NULL REFERENCES console_users(user_id),
        code_hash TEXT NOT NULL,              -- SHA-256 hex
        used_at   REAL,
        PRIMARY KEY (user_id, code_hash)
    );
    CREATE TABLE console_signin_failures (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES console_users(user_id),
        at      REAL NOT NULL
    );
    CREATE INDEX console_signin_failures_user ON console_signin_failures(user_id, at);
    CREATE TABLE console_sessions (
        id_hash    TEXT PRIMARY KEY,          -- SHA-256 hex of the cookie's random id
        user_id    INTEGER NOT NULL REFERENCES console_users(user_id),
        csrf       TEXT NOT NULL,
        created_at REAL NOT NULL,
        last_seen  REAL NOT NULL,
        step_up_at REAL,                      -- the last fresh TOTP (sensitive actions)
        ended_at   REAL,
        end_reason TEXT
    );
    CREATE INDEX console_sessions_user ON console_sessions(user_id) WHERE ended_at IS NULL;
    """,
)

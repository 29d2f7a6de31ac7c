"""Tables of outbound reminders: the consent ledger, do-not-call lists, patient zones and
dial attempts (one migration of the encrypted store).

appliance.services.app_db owns the application's ordered list; append OUTBOUND_MIGRATION
there after the migration numbered just before OUTBOUND_VERSION. Database.open refuses a
gap, so the number is one constant: change OUTBOUND_VERSION alone if the order moves.

PHI here lives only in the SQLCipher store: a number to dial (E.164) and the patient it
belongs to. Lookups, logs, audit records and printed plans use the keyed hash of the
number (appliance.store.pseudonyms, the same key as the calls' remote_hash), never it.
"""

from __future__ import annotations

from appliance.store.migrations import Migration

# 8 in the merged order (after 7, accounts); 7 until that lands, since Database.open
# refuses a gap: the one number to change when the lists are merged
OUTBOUND_VERSION = 10

OUTBOUND_MIGRATION = Migration(
    OUTBOUND_VERSION,
    """
CREATE TABLE outbound_consents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id     TEXT NOT NULL REFERENCES patients(id),          -- PHI link
    number         TEXT NOT NULL,                                  -- PHI, E.164, to dial
    number_hash    TEXT NOT NULL,                                  -- keyed HMAC of number
    kind           TEXT NOT NULL CHECK (kind IN ('prior-express', 'written')),
    source         TEXT NOT NULL CHECK (source IN ('form', 'front-desk', 'import')),
    ip             TEXT,                                           -- where given (form)
    given_at       REAL NOT NULL,                                  -- UNIX s
    revoked_at     REAL,                                           -- UNIX s; NULL = in force
    revoked_source TEXT,
    CHECK ((revoked_at IS NULL) = (revoked_source IS NULL))
);
CREATE UNIQUE INDEX outbound_consents_active
    ON outbound_consents(patient_id, number_hash) WHERE revoked_at IS NULL;
CREATE INDEX outbound_consents_number ON outbound_consents(number_hash);
CREATE TABLE outbound_dnc (
    number_hash TEXT NOT NULL,                                     -- keyed HMAC, no number
    list        TEXT NOT NULL CHECK (list IN ('internal', 'imported')),
    source      TEXT NOT NULL,
    added_at    REAL NOT NULL,
    PRIMARY KEY (number_hash, list)
);
CREATE TABLE outbound_patient_zones (
    patient_id TEXT PRIMARY KEY REFERENCES patients(id),
    zone       TEXT NOT NULL                                       -- IANA name
);
CREATE TABLE outbound_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    number_hash    TEXT NOT NULL,
    at             REAL NOT NULL,                                  -- UNIX s
    outcome        TEXT NOT NULL
);
CREATE INDEX outbound_attempts_number ON outbound_attempts(number_hash, at);
CREATE INDEX outbound_attempts_appointment ON outbound_attempts(appointment_id);
CREATE TRIGGER outbound_consents_no_delete BEFORE DELETE ON outbound_consents
BEGIN SELECT RAISE(ABORT, 'the consent ledger keeps every entry'); END;
""",
)

"""Tables of the built-in schedule: migration 2 of the encrypted store (appliance.services.app_db
puts it in the application's order)."""

from __future__ import annotations

from appliance.store.migrations import Migration

SCHEDULE_MIGRATION = Migration(
    2,
    """
CREATE TABLE providers (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    specialty TEXT NOT NULL DEFAULT ''
);
CREATE TABLE appointment_types (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 5 AND 480)
);
CREATE TABLE working_hours (
    provider_id TEXT NOT NULL REFERENCES providers(id),
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),   -- 0 = Monday
    start_min   INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439), -- local minutes
    end_min     INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    CHECK (end_min > start_min)
);
CREATE TABLE holidays (
    day  TEXT PRIMARY KEY,                                          -- ISO date, local
    name TEXT NOT NULL
);
CREATE TABLE patients (
    id         TEXT PRIMARY KEY,
    first_name TEXT NOT NULL,                                       -- PHI
    last_name  TEXT NOT NULL,                                       -- PHI
    birth_date TEXT NOT NULL,                                       -- PHI, ISO date
    phone      TEXT NOT NULL DEFAULT ''                             -- PHI, E.164
);
CREATE INDEX patients_lookup ON patients(last_name, birth_date);
CREATE TABLE appointments (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    provider_id TEXT NOT NULL REFERENCES providers(id),
    type_id     TEXT NOT NULL REFERENCES appointment_types(id),
    start_utc   INTEGER NOT NULL,                                   -- UNIX s
    end_utc     INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
    call_id     TEXT,
    created_at  REAL NOT NULL,
    CHECK (end_utc > start_utc)
);
CREATE UNIQUE INDEX appointments_no_double_start
    ON appointments(provider_id, start_utc) WHERE status = 'booked';
CREATE INDEX appointments_provider_time ON appointments(provider_id, start_utc, end_utc);
CREATE INDEX appointments_patient ON appointments(patient_id, start_utc);
""",
)


# When and how the patient confirmed the appointment (a reminder call's "yes"): the row
# itself says so, as the front desk's own system would show it. Its number is
# CONFIRMATION_VERSION (appliance.services.app_db puts it in the application's order).
CONFIRMATION_VERSION = 14
CONFIRMATION_MIGRATION = Migration(
    CONFIRMATION_VERSION,
    """
    ALTER TABLE appointments ADD COLUMN confirmed_at REAL;   -- UNIX s; NULL: not confirmed
    ALTER TABLE appointments ADD COLUMN confirmed_via TEXT;  -- e.g. 'reminder-call'
    """,
)

"""A real SQLCipher store with the schedule, extra patients and appointments, for the
outbound tests (the outbound migration appended as appliance.services.app_db will)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.outbound.ledger import Actor, ConsentGrant, Ledger
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Connection, Database

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "schedule"
KEY = b"\x42" * 32  # the caller-hash key
NY = ZoneInfo("America/New_York")
STORE_MIGRATIONS = MIGRATIONS  # the outbound migration among them
# patients beside the schedule's p1-p3 (+1555 numbers: no zone known)
PATIENTS = {
    "p4": ("Ana", "Ruiz", "+12125550144"),  # New York
    "p5": ("Ben", "Cole", "+13105550155"),  # Los Angeles
    "p6": ("Cai", "Dunn", ""),  # no number on record
}


def open_store(path: Path) -> Database:
    db = Database.open(path, "7e" * 32, STORE_MIGRATIONS)
    import_directory(db, ASSETS)

    def add(conn: Connection) -> None:
        for pid, (first, last, phone) in PATIENTS.items():
            conn.execute(
                "INSERT INTO patients VALUES (?, ?, ?, '1970-01-01', ?)", (pid, first, last, phone)
            )

    db.execute(add)
    return db


def book(db: Database, appointment_id: str, patient_id: str, start: datetime) -> None:
    def insert(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO appointments (id, patient_id, provider_id, type_id, start_utc, end_utc,"
            " status, call_id, created_at)"
            " VALUES (?, ?, 'lee', 'checkup', ?, ?, 'booked', NULL, 0)",
            (appointment_id, patient_id, int(start.timestamp()), int(start.timestamp()) + 1800),
        )

    db.execute(insert)


def consent(ledger: Ledger, patient_id: str, number: str, given: datetime) -> None:
    ledger.grant(ConsentGrant(patient_id, number, "written", "front-desk", given.timestamp()))


def ledger(db: Database) -> Ledger:
    return Ledger(db, KEY, Actor("tester", "operator", "test"))


def audit_rows(db: Database) -> list[tuple[str, ...]]:
    def read(conn: Connection) -> list[tuple[str, ...]]:
        rows = conn.execute(
            "SELECT action, object_type, object_id, reason_code, actor FROM audit ORDER BY seq"
        )
        return [tuple(str(v) for v in r) for r in rows]

    return db.query(read)


def attempt(book: Ledger, appointment_id: str, number: str, at: float, outcome: str) -> None:
    """One finished dial, as the dialler records it (begin before the INVITE, then end)."""
    book.end_call(book.begin_call(appointment_id, number, at), appointment_id, at, outcome)

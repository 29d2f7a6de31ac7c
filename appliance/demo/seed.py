"""Seeding the synthetic demo clinic into an empty schedule ([demo] clinic = true).

`appliance run` calls `seed_if_empty()` after opening the store: when the store has no
provider yet, the demo clinic's CSV files (appliance/demo/clinic, in the format of
appliance/scheduling/importer.py) are imported and the rows of `appointments.csv` are
booked relative to the seed date, in one write transaction together with their audit
record (`demo.seeded`): all of it or nothing. A store that already has providers (a real
clinic's import, or an earlier seed) is never touched, so seeding again is a no-op.

appointments.csv: `patient_id,provider_id,type_id,after_working_days,time`, where
`after_working_days` N is the Nth day after the seed date on which that provider works
and which is not a holiday, and `time` the local start (HH:MM), inside the provider's
hours that day. The files hold synthetic PHI: errors name file, line and column, logs
carry counts only.
"""

from __future__ import annotations

import csv
import logging
import re
import time as _time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appliance.config import Settings
from appliance.demo import config as demo_config
from appliance.errors import ApplianceError, SchedulingError
from appliance.scheduling.importer import Parsed, parse_directory, write_parsed
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

logger = logging.getLogger(__name__)

APPOINTMENTS = "appointments.csv"
COLUMNS = ("patient_id", "provider_id", "type_id", "after_working_days", "time")
MAX_SEARCH_DAYS = 800  # a provider without a working day this far ahead is an error
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class DemoAppointment:
    line: int  # in appointments.csv (for errors)
    patient_id: str
    provider_id: str
    type_id: str
    after: int  # the Nth working day of the provider after the seed date (N >= 1)
    start_min: int  # local minutes after midnight


def _bad(line: int, what: str) -> SchedulingError:
    return SchedulingError("demo-bad-row", f"{APPOINTMENTS}:{line}: {what}")


def _parse(row: dict[str, str | None], line: int) -> DemoAppointment:
    values = {c: (row.get(c) or "").strip() for c in COLUMNS}
    for column in ("patient_id", "provider_id", "type_id"):
        if not values[column]:
            raise _bad(line, f"bad value in column {column}")
    after = values["after_working_days"]
    if not after.isdigit() or int(after) < 1:
        raise _bad(line, "bad value in column after_working_days")
    hhmm = _HHMM.match(values["time"])
    if hhmm is None:
        raise _bad(line, "bad value in column time")
    start = int(hhmm[1]) * 60 + int(hhmm[2])
    ids = values["patient_id"], values["provider_id"], values["type_id"]
    return DemoAppointment(line, *ids, int(after), start)


def read_appointments(directory: Path) -> list[DemoAppointment]:
    """The rows of `directory`/appointments.csv ([] when there is no such file)."""
    path = directory / APPOINTMENTS
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SchedulingError("demo-bad-header", f"{APPOINTMENTS}: missing {missing}")
        return [_parse(row, line) for line, row in enumerate(reader, start=2)]


def nth_working_day(seed: date, n: int, weekdays: set[int], holidays: set[str]) -> date | None:
    """The `n`th day after `seed` whose weekday is in `weekdays` and that is no holiday."""
    found = 0
    for offset in range(1, MAX_SEARCH_DAYS + 1):
        day = seed + timedelta(days=offset)
        if day.weekday() in weekdays and day.isoformat() not in holidays:
            found += 1
            if found == n:
                return day
    return None


@dataclass(frozen=True, slots=True)
class _Seed:
    parsed: Parsed
    booked: list[DemoAppointment]
    seed_date: date
    tz: ZoneInfo


def seed_configured(db: Database, settings: Settings) -> None:
    """On start: seed the demo clinic when [demo] clinic is on. A failure is logged with
    its code and the appliance goes on without the demo clinic (nothing was written)."""
    if not settings.demo.clinic:
        return
    try:
        seed_if_empty(db, ZoneInfo(settings.clinic.timezone), demo_config.CLINIC_DIR)
    except ApplianceError as exc:
        logger.error("demo clinic not seeded", extra={"stage": "demo", "code": exc.code})


def seed_if_empty(
    db: Database, tz: ZoneInfo, directory: Path, today: date | None = None
) -> dict[str, int] | None:
    """Seed the demo clinic from `directory` unless the store has providers already.

    Returns rows per file (None: the store was not empty, nothing was written).
    Raises SchedulingError (import-*, demo-*) or StoreError; then nothing was written."""
    if db.query(_has_providers):
        logger.info("schedule has providers: demo clinic not seeded", extra={"stage": "demo"})
        return None
    seed = _Seed(
        parse_directory(directory),
        read_appointments(directory),
        today or datetime.now(tz).date(),
        tz,
    )
    counts = db.execute(_seed, seed, db.audit_signer, db.audit_checkpoint_every)
    if counts is None:
        logger.info("schedule has providers: demo clinic not seeded", extra={"stage": "demo"})
    else:
        logger.info("demo clinic seeded", extra={"stage": "demo", "rows": counts})
    return counts


def _has_providers(conn: Connection) -> bool:
    return conn.execute("SELECT 1 FROM providers LIMIT 1").fetchone() is not None


def _seed(conn: Connection, seed: _Seed, signer: Any, every: int) -> dict[str, int] | None:
    if _has_providers(conn):  # another process seeded or imported meanwhile
        return None
    counts = write_parsed(conn, seed.parsed)
    holidays = {str(row[0]) for row in conn.execute("SELECT day FROM holidays")}
    for appointment in seed.booked:
        _book(conn, appointment, seed, holidays)
    counts[APPOINTMENTS] = len(seed.booked)
    reason = ",".join(f"{name.removesuffix('.csv')}={n}" for name, n in sorted(counts.items()))
    event = AuditEvent(
        actor="appliance",
        actor_role="system",
        action="demo.seeded",
        object_type="schedule",
        object_id="demo-clinic",
        reason_code=reason,
        component="config",
    )
    append_audit(conn, event, signer, every)
    return counts


def _book(conn: Connection, a: DemoAppointment, seed: _Seed, holidays: set[str]) -> None:
    minutes = _one(conn, "SELECT minutes FROM appointment_types WHERE id = ?", a.type_id)
    if minutes is None:
        raise _bad(a.line, "unknown type_id")
    if _one(conn, "SELECT 1 FROM patients WHERE id = ?", a.patient_id) is None:
        raise _bad(a.line, "unknown patient_id")
    if _one(conn, "SELECT 1 FROM providers WHERE id = ?", a.provider_id) is None:
        raise _bad(a.line, "unknown provider_id")
    hours = [
        (int(r[0]), int(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT weekday, start_min, end_min FROM working_hours WHERE provider_id = ?",
            (a.provider_id,),
        )
    ]
    day = nth_working_day(seed.seed_date, a.after, {h[0] for h in hours}, holidays)
    if day is None:
        raise _bad(a.line, "the provider has no working day for after_working_days")
    end_min = a.start_min + int(minutes)
    if not any(w == day.weekday() and s <= a.start_min and end_min <= e for w, s, e in hours):
        raise _bad(a.line, "time is outside the provider's hours that day")
    start = datetime.combine(day, time(a.start_min // 60, a.start_min % 60), seed.tz)
    start_utc = int(start.timestamp())
    end_utc = start_utc + int(minutes) * 60
    overlap = conn.execute(
        "SELECT 1 FROM appointments WHERE provider_id = ? AND status = 'booked'"
        " AND start_utc < ? AND end_utc > ? LIMIT 1",
        (a.provider_id, end_utc, start_utc),
    ).fetchone()
    if overlap is not None:
        raise _bad(a.line, "overlaps another appointment of the provider")
    conn.execute(
        "INSERT INTO appointments (id, patient_id, provider_id, type_id, start_utc, end_utc,"
        " status, call_id, created_at) VALUES (?, ?, ?, ?, ?, ?, 'booked', NULL, ?)",
        (uuid.uuid4().hex, a.patient_id, a.provider_id, a.type_id, start_utc, end_utc,
         _time.time()),
    )  # fmt: skip


def _one(conn: Connection, sql: str, value: str) -> Any:
    row = conn.execute(sql, (value,)).fetchone()
    return None if row is None else row[0]

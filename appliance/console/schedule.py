"""The schedule's reference data for the console: providers, appointment types, working
hours and holidays, in the built-in schedule's own tables (appliance/scheduling/schema.py,
the ones `appliance schedule import` fills). Patients stay import-only: nothing here reads
or writes them.

Every change is one write transaction with its audit record naming the user; the record
carries the row's id (a provider or type id, a weekday, a date), never its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from appliance.console.accounts import Actor, Clock, audit
from appliance.errors import ConsoleError
from appliance.scheduling.importer import WEEKDAYS
from appliance.store.db import Connection, Database

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
NAME_MAX = 80


@dataclass(frozen=True, slots=True)
class Hours:
    row: int  # the rowid, for removal
    provider_id: str
    weekday: int  # 0 = Monday
    start_min: int
    end_min: int

    @property
    def day(self) -> str:
        return WEEKDAYS[self.weekday]

    @property
    def span(self) -> str:
        return f"{clock_text(self.start_min)}-{clock_text(self.end_min)}"


@dataclass(frozen=True, slots=True)
class Reference:
    providers: list[tuple[str, str, str]]  # id, name, specialty
    types: list[tuple[str, str, int]]  # id, name, minutes
    hours: list[Hours]
    holidays: list[tuple[str, str]]  # ISO day, name


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _bad(what: str) -> ConsoleError:
    return ConsoleError("schedule-bad-value", f"check the {what}")


def _id(value: str, what: str) -> str:
    if not _ID.match(value.strip()):
        raise _bad(f"{what} (1-40 letters, digits, . _ -)")
    return value.strip()


def _name(value: str, what: str) -> str:
    text = " ".join(value.split())
    if not 1 <= len(text) <= NAME_MAX:
        raise _bad(f"{what} (1-{NAME_MAX} characters)")
    return text


def _minute(value: str) -> int:
    found = _TIME.match(value.strip())
    if not found or int(found[2]) > 59 or int(found[1]) * 60 + int(found[2]) > 1440:
        raise _bad("times (HH:MM, 00:00-24:00)")
    return int(found[1]) * 60 + int(found[2])


def _read(conn: Connection) -> Reference:
    return Reference(
        [tuple(r) for r in conn.execute("SELECT id, name, specialty FROM providers ORDER BY id")],
        [
            tuple(r)
            for r in conn.execute("SELECT id, name, minutes FROM appointment_types ORDER BY id")
        ],
        [
            Hours(*r)
            for r in conn.execute(
                "SELECT rowid, provider_id, weekday, start_min, end_min FROM working_hours"
                " ORDER BY provider_id, weekday, start_min"
            )
        ],
        [tuple(r) for r in conn.execute("SELECT day, name FROM holidays ORDER BY day")],
    )


class ScheduleEditor:
    """Blocking operations on the store (the routes run them in a thread)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def read(self) -> Reference:
        return self.db.query(_read)

    def _audit(self, conn: Connection, by: Actor, action: str, kind: str, oid: str) -> None:
        audit(self.db, conn, by, action, object_type=kind, object_id=oid, at=self.clock())

    def save_provider(self, pid: str, name: str, specialty: str, by: Actor) -> None:
        """Add or rename a provider. Raises schedule-bad-value."""
        pid, name = _id(pid, "provider id"), _name(name, "provider name")
        specialty = " ".join(specialty.split())[:NAME_MAX]

        def write(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO providers (id, name, specialty) VALUES (?, ?, ?) ON CONFLICT (id)"
                " DO UPDATE SET name = excluded.name, specialty = excluded.specialty",
                (pid, name, specialty),
            )
            self._audit(conn, by, "schedule.provider.save", "provider", pid)

        self.db.execute(write)

    def save_type(self, tid: str, name: str, minutes: str, by: Actor) -> None:
        """Add or change an appointment type (5-480 min). Raises schedule-bad-value."""
        tid, name = _id(tid, "type id"), _name(name, "type name")
        if not minutes.strip().isdigit() or not 5 <= int(minutes) <= 480:
            raise _bad("length (5-480 minutes)")

        def write(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO appointment_types (id, name, minutes) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, minutes = excluded.minutes",
                (tid, name, int(minutes)),
            )
            self._audit(conn, by, "schedule.type.save", "appointment-type", tid)

        self.db.execute(write)

    def add_hours(self, pid: str, weekday: str, start: str, end: str, by: Actor) -> None:
        """Working hours of a provider on a weekday. Raises schedule-bad-value,
        schedule-no-provider, schedule-hours-overlap."""
        day = weekday.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise _bad("weekday")
        first, last = _minute(start), _minute(end)
        if last <= first:
            raise _bad("times (the end after the start)")
        wd = WEEKDAYS.index(day)

        def write(conn: Connection) -> None:
            if conn.execute("SELECT 1 FROM providers WHERE id = ?", (pid,)).fetchone() is None:
                raise ConsoleError("schedule-no-provider", "no provider with that id")
            overlap = conn.execute(
                "SELECT 1 FROM working_hours WHERE provider_id = ? AND weekday = ?"
                " AND start_min < ? AND ? < end_min",
                (pid, wd, last, first),
            ).fetchone()
            if overlap is not None:
                raise ConsoleError("schedule-hours-overlap", "those hours overlap others")
            conn.execute("INSERT INTO working_hours VALUES (?, ?, ?, ?)", (pid, wd, first, last))
            self._audit(conn, by, "schedule.hours.add", "hours", f"{pid}@{day}")

        self.db.execute(write)

    def remove_hours(self, row: int, by: Actor) -> None:
        """Raises schedule-no-row."""

        def write(conn: Connection) -> None:
            found = conn.execute(
                "SELECT provider_id, weekday FROM working_hours WHERE rowid = ?", (row,)
            ).fetchone()
            if found is None:
                raise ConsoleError("schedule-no-row", "no such hours")
            conn.execute("DELETE FROM working_hours WHERE rowid = ?", (row,))
            oid = f"{found[0]}@{WEEKDAYS[int(found[1])]}"
            self._audit(conn, by, "schedule.hours.remove", "hours", oid)

        self.db.execute(write)

    def add_holiday(self, day: str, name: str, by: Actor) -> None:
        """A day the clinic is closed (no slots offered). Raises schedule-bad-value."""
        try:
            iso = date.fromisoformat(day.strip()).isoformat()
        except ValueError:
            raise _bad("date (YYYY-MM-DD)") from None
        name = _name(name, "holiday name")

        def write(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO holidays (day, name) VALUES (?, ?)"
                " ON CONFLICT (day) DO UPDATE SET name = excluded.name",
                (iso, name),
            )
            self._audit(conn, by, "schedule.holiday.add", "holiday", iso)

        self.db.execute(write)

    def remove_holiday(self, day: str, by: Actor) -> None:
        """Raises schedule-no-row."""

        def write(conn: Connection) -> None:
            if conn.execute("DELETE FROM holidays WHERE day = ?", (day,)).rowcount == 0:
                raise ConsoleError("schedule-no-row", "no such holiday")
            self._audit(conn, by, "schedule.holiday.remove", "holiday", day)

        self.db.execute(write)

"""The built-in schedule in the encrypted store.

Booking is atomic: the check for a conflicting appointment and the insert run in one
write transaction (SQLite serialises writers), and a partial unique index backs it up,
so two concurrent calls can never get the same slot.
"""

from __future__ import annotations

import time as _time
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance.errors import SchedulingError
from appliance.scheduling.matching import best_match
from appliance.scheduling.model import (
    Appointment,
    AppointmentType,
    Patient,
    Provider,
    Slot,
    SlotQuery,
)
from appliance.store.db import Connection, Database

SEARCH_DAYS = 60  # how far ahead find_slots looks


class BuiltinSchedule:
    """Implements appliance.scheduling.model.ScheduleBackend."""

    def __init__(self, db: Database, tz: ZoneInfo, now: Any = None) -> None:
        self._db = db
        self._tz = tz
        self._now = now or (lambda: datetime.now(tz))

    # --- reads ---------------------------------------------------------------------

    async def find_slots(self, query: SlotQuery) -> list[Slot]:
        return await self._db.run_query(self._find_slots, query, self._now())

    def _find_slots(self, conn: Connection, q: SlotQuery, now: datetime) -> list[Slot]:
        minutes = _type_minutes(conn, q.type_id)
        start_from = max(q.not_before or now, now)
        days = [q.day] if q.day else [start_from.date() + timedelta(d) for d in range(SEARCH_DAYS)]
        holidays = {row[0] for row in conn.execute("SELECT day FROM holidays")}
        out: list[Slot] = []
        for day in days:
            if day.isoformat() in holidays:
                continue
            for slot in self._day_slots(conn, q, day, minutes):
                if slot.start >= start_from:
                    out.append(slot)
            if len(out) >= q.limit:
                break
        out.sort(key=lambda s: (s.start, s.provider_id))
        return out[: q.limit]

    def _day_slots(self, conn: Connection, q: SlotQuery, day: date, minutes: int) -> list[Slot]:
        sql = "SELECT provider_id, start_min, end_min FROM working_hours WHERE weekday = ?"
        params: list[Any] = [day.weekday()]
        if q.provider_id:
            sql, params = sql + " AND provider_id = ?", [*params, q.provider_id]
        slots = []
        for provider, start_min, end_min in conn.execute(sql + " ORDER BY provider_id", params):
            booked = _booked(conn, provider, self._at(day, 0), self._at(day, 1440))
            for m in range(start_min, end_min - minutes + 1, minutes):
                start, end = self._at(day, m), self._at(day, m + minutes)
                local = start.time()
                if (q.earliest and local < q.earliest) or (q.latest and local > q.latest):
                    continue
                if not any(s < end and start < e for s, e in booked):
                    slots.append(Slot(provider, q.type_id, start, end))
        return slots

    def _at(self, day: date, minute: int) -> datetime:
        midnight = datetime.combine(day, time(0), self._tz)
        return (midnight + timedelta(minutes=minute)).astimezone(self._tz)

    async def upcoming(self, patient_id: str) -> list[Appointment]:
        return await self._db.run_query(self._upcoming, patient_id, self._now())

    def _upcoming(self, conn: Connection, patient_id: str, now: datetime) -> list[Appointment]:
        rows = conn.execute(
            "SELECT id, patient_id, provider_id, type_id, start_utc, end_utc, status"
            " FROM appointments WHERE patient_id = ? AND status = 'booked' AND start_utc >= ?"
            " ORDER BY start_utc",
            (patient_id, int(now.timestamp())),
        )
        return [self._appointment(row) for row in rows]

    async def find_patient(self, first: str, last: str, birth: date) -> Patient | None:
        return await self._db.run_query(self._find_patient, first, last, birth)

    def _find_patient(self, conn: Connection, first: str, last: str, birth: date) -> Patient | None:
        """The one patient born on `birth` whose name sounds like the one said (Whisper's
        spelling: see `matching`); None when none or two are alike enough."""
        rows = conn.execute(
            "SELECT id, first_name, last_name, birth_date FROM patients WHERE birth_date = ?",
            (birth.isoformat(),),
        )
        born = [Patient(r[0], r[1], r[2], date.fromisoformat(r[3])) for r in rows]
        return best_match(first, last, [(p, p.first_name, p.last_name) for p in born])

    async def providers(self) -> list[Provider]:
        def read(conn: Connection) -> list[Provider]:
            rows = conn.execute("SELECT id, name, specialty FROM providers ORDER BY id")
            return [Provider(*row) for row in rows]

        return await self._db.run_query(read)

    async def appointment_types(self) -> list[AppointmentType]:
        def read(conn: Connection) -> list[AppointmentType]:
            rows = conn.execute("SELECT id, name, minutes FROM appointment_types ORDER BY id")
            return [AppointmentType(*row) for row in rows]

        return await self._db.run_query(read)

    # --- writes ----------------------------------------------------------------------

    async def book(self, patient_id: str, slot: Slot, call_id: str | None) -> Appointment:
        return await self._db.run(self._book, patient_id, slot, call_id)

    def _book(
        self, conn: Connection, patient_id: str, slot: Slot, call_id: str | None
    ) -> Appointment:
        self._check_slot(conn, slot, ignore=None)
        if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
            raise SchedulingError("unknown-patient", "no such patient")
        appointment_id = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO appointments (id, patient_id, provider_id, type_id, start_utc, end_utc,"
            " status, call_id, created_at) VALUES (?, ?, ?, ?, ?, ?, 'booked', ?, ?)",
            (
                appointment_id,
                patient_id,
                slot.provider_id,
                slot.type_id,
                int(slot.start.timestamp()),
                int(slot.end.timestamp()),
                call_id,
                _time.time(),
            ),
        )
        return Appointment(
            appointment_id,
            patient_id,
            slot.provider_id,
            slot.type_id,
            slot.start,
            slot.end,
            "booked",
        )

    async def reschedule(self, appointment_id: str, slot: Slot) -> Appointment:
        return await self._db.run(self._reschedule, appointment_id, slot)

    def _reschedule(self, conn: Connection, appointment_id: str, slot: Slot) -> Appointment:
        current = self._load(conn, appointment_id)
        self._check_slot(conn, slot, ignore=appointment_id)
        conn.execute(
            "UPDATE appointments SET provider_id = ?, type_id = ?, start_utc = ?, end_utc = ?"
            " WHERE id = ?",
            (
                slot.provider_id,
                slot.type_id,
                int(slot.start.timestamp()),
                int(slot.end.timestamp()),
                appointment_id,
            ),
        )
        return Appointment(
            appointment_id,
            current.patient_id,
            slot.provider_id,
            slot.type_id,
            slot.start,
            slot.end,
            "booked",
        )

    async def cancel(self, appointment_id: str) -> Appointment:
        return await self._db.run(self._cancel, appointment_id)

    def _cancel(self, conn: Connection, appointment_id: str) -> Appointment:
        current = self._load(conn, appointment_id)
        conn.execute("UPDATE appointments SET status = 'cancelled' WHERE id = ?", (appointment_id,))
        return Appointment(
            current.id,
            current.patient_id,
            current.provider_id,
            current.type_id,
            current.start,
            current.end,
            "cancelled",
        )

    # --- helpers ---------------------------------------------------------------------

    def _load(self, conn: Connection, appointment_id: str) -> Appointment:
        row = conn.execute(
            "SELECT id, patient_id, provider_id, type_id, start_utc, end_utc, status"
            " FROM appointments WHERE id = ? AND status = 'booked'",
            (appointment_id,),
        ).fetchone()
        if row is None:
            raise SchedulingError("unknown-appointment", "no such booked appointment")
        return self._appointment(row)

    def _appointment(self, row: Any) -> Appointment:
        start = datetime.fromtimestamp(row[4], UTC).astimezone(self._tz)
        end = datetime.fromtimestamp(row[5], UTC).astimezone(self._tz)
        return Appointment(row[0], row[1], row[2], row[3], start, end, row[6])

    def _check_slot(self, conn: Connection, slot: Slot, ignore: str | None) -> None:
        """The slot must be a real opening: right length, working hours, no holiday, free."""
        start, end = slot.start.astimezone(self._tz), slot.end.astimezone(self._tz)
        if (end - start) != timedelta(minutes=_type_minutes(conn, slot.type_id)):
            raise SchedulingError("slot-invalid", "slot length does not match its type")
        if start < self._now():
            raise SchedulingError("slot-in-past", "slot is in the past")
        day = start.date()
        holiday = conn.execute("SELECT 1 FROM holidays WHERE day = ?", (day.isoformat(),))
        if holiday.fetchone() is not None:
            raise SchedulingError("slot-invalid", "the clinic is closed that day")
        first = start.hour * 60 + start.minute
        last = first + (end - start).seconds // 60
        hours = conn.execute(
            "SELECT 1 FROM working_hours WHERE provider_id = ? AND weekday = ?"
            " AND start_min <= ? AND end_min >= ?",
            (slot.provider_id, day.weekday(), first, last),
        ).fetchone()
        if hours is None:
            raise SchedulingError("slot-invalid", "outside the provider's working hours")
        for s, e in _booked(conn, slot.provider_id, start, end, ignore):
            if s < end and start < e:
                raise SchedulingError("slot-taken", "that time was just taken")


def _type_minutes(conn: Connection, type_id: str) -> int:
    row = conn.execute("SELECT minutes FROM appointment_types WHERE id = ?", (type_id,)).fetchone()
    if row is None:
        raise SchedulingError("unknown-appointment-type", "no such appointment type")
    return int(row[0])


def _booked(
    conn: Connection, provider: str, start: datetime, end: datetime, ignore: str | None = None
) -> list[tuple[datetime, datetime]]:
    rows = conn.execute(
        "SELECT start_utc, end_utc FROM appointments WHERE provider_id = ? AND status = 'booked'"
        " AND start_utc < ? AND end_utc > ? AND id != ?",
        (provider, int(end.timestamp()), int(start.timestamp()), ignore or ""),
    )
    return [(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC)) for s, e in rows]

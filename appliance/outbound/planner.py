"""The reminder planner: for each booked appointment of a clinic date, call now, call later
at T, or exclude with a coded reason. It reads one consistent snapshot of the store and
places no call (the dialler, part 2 of issue 19, checks again right before each dial).

Per appointment, in this order:
  no-number          the patient has no dialable number (record or ledger)
  dnc                the number is on a do-not-call list (internal or imported)
  consent-revoked    the consent for the number was revoked
  no-consent         no consent for the number in the ledger
  reminded           a reminder call about it was answered already (by a person or
                     a machine: a message was left)
  attempts-exhausted the appointment's attempts are used up (or today's, with no later
                     window before the appointment)
  holiday            today is a clinic holiday and no window opens before the appointment
  outside-window     no calling window is open now, nor opens before the appointment
Numbers tried: the record's number first, then the ledger's (in force first, newest
first); the first one not on a DNC list and with consent in force is the one to call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from appliance.config import Settings
from appliance.outbound.ledger import consent_status, on_dnc
from appliance.outbound.numbers import e164, number_hash, number_hashes, number_key, patient_key
from appliance.outbound.windows import ClinicWindow, blocked, callee_zones, next_open, parse_hhmm
from appliance.store.db import Connection, Database

Action = Literal["call-now", "later", "excluded"]
REASONS = (
    "no-number",
    "dnc",
    "consent-revoked",
    "no-consent",
    "reminded",
    "attempts-exhausted",
    "holiday",
    "outside-window",
)


@dataclass(frozen=True, slots=True)
class Contact:
    """PHI: printed only when asked for (`--show`, audited)."""

    patient_id: str
    number: str | None  # E.164


@dataclass(frozen=True, slots=True)
class Decision:
    appointment_id: str
    patient: str  # pt- key
    number: str | None  # pn- key of the number to call (or the one refused)
    action: Action
    at: datetime | None  # call-now: now; later: when the first window opens
    reason: str | None  # excluded: why; later: why not now
    zone_basis: str | None  # where the callee's zone came from
    contact: Contact = field(repr=False, compare=False)

    def public(self) -> dict[str, Any]:
        """The decision without PHI (pseudonymous keys only)."""
        return {
            "appointment_id": self.appointment_id,
            "patient": self.patient,
            "number": self.number,
            "action": self.action,
            "at": self.at.isoformat() if self.at else None,
            "reason": self.reason,
            "zone_basis": self.zone_basis,
        }


@dataclass(frozen=True, slots=True)
class Limits:
    per_day: int
    per_appointment: int


@dataclass(frozen=True, slots=True)
class _Booked:
    appointment_id: str
    patient_id: str
    start: datetime
    phone: str
    record_zone: ZoneInfo | None


@dataclass(frozen=True, slots=True)
class _Number:
    number: str
    hashed: str
    refusal: str | None  # dnc | consent-revoked | no-consent | None (callable)


class Planner:
    def __init__(
        self,
        db: Database,
        hash_key: bytes,
        clinic: tuple[ZoneInfo, time, time],
        limits: Limits,
    ) -> None:
        self._db = db
        self._key = hash_key
        self._zone, self._start, self._end = clinic
        self._limits = limits

    @classmethod
    def from_settings(cls, db: Database, hash_key: bytes, settings: Settings) -> Planner:
        o = settings.outbound
        clinic = (
            ZoneInfo(settings.clinic.timezone),
            parse_hhmm(o.window_start),
            parse_hhmm(o.window_end),
        )
        return cls(db, hash_key, clinic, Limits(o.attempts_per_day, o.attempts_per_appointment))

    def plan(self, day: date, now: datetime) -> list[Decision]:
        """A decision per booked appointment on the clinic date `day`, as of `now` (aware)."""
        return self._db.query(self._plan, day, now)

    def plan_one(self, appointment_id: str, day: date, now: datetime) -> Decision | None:
        """The decision for one appointment, from the store as it is now (the dialler's
        check right before each dial); None when it is no longer booked on `day`."""
        decisions = self._db.query(self._plan, day, now, appointment_id)
        return decisions[0] if decisions else None

    def _plan(
        self, conn: Connection, day: date, now: datetime, only: str | None = None
    ) -> list[Decision]:
        holidays = frozenset(
            date.fromisoformat(r[0]) for r in conn.execute("SELECT day FROM holidays")
        )
        window = ClinicWindow(self._zone, self._start, self._end, holidays)
        booked = [b for b in self._booked(conn, day) if only is None or b.appointment_id == only]
        return [self._decide(conn, window, b, now) for b in booked]

    def _booked(self, conn: Connection, day: date) -> list[_Booked]:
        start = datetime.combine(day, time(0), self._zone)
        end = datetime.combine(day + timedelta(days=1), time(0), self._zone)
        rows = conn.execute(
            "SELECT a.id, a.patient_id, a.start_utc, p.phone, z.zone FROM appointments a"
            " JOIN patients p ON p.id = a.patient_id"
            " LEFT JOIN outbound_patient_zones z ON z.patient_id = a.patient_id"
            " WHERE a.status = 'booked' AND a.start_utc >= ? AND a.start_utc < ?"
            " ORDER BY a.start_utc, a.id",
            (int(start.timestamp()), int(end.timestamp())),
        )
        return [
            _Booked(
                str(r[0]),
                str(r[1]),
                datetime.fromtimestamp(int(r[2]), self._zone),
                str(r[3] or ""),
                ZoneInfo(str(r[4])) if r[4] else None,
            )
            for r in rows
        ]

    def _decide(
        self, conn: Connection, window: ClinicWindow, booked: _Booked, now: datetime
    ) -> Decision:
        numbers = self._numbers(conn, booked)
        chosen = next((n for n in numbers if n.refusal is None), numbers[0] if numbers else None)
        base = Decision(
            booked.appointment_id,
            patient_key(self._key, booked.patient_id),
            number_key(chosen.hashed) if chosen else None,
            "excluded",
            None,
            "no-number" if chosen is None else chosen.refusal,
            None,
            Contact(booked.patient_id, chosen.number if chosen else None),
        )
        if chosen is None or chosen.refusal is not None:
            return base
        callee = callee_zones(chosen.number, booked.record_zone, window.zone)
        base = replace(base, zone_basis=callee.basis)
        if _reached(conn, booked.appointment_id):
            return replace(base, reason="reminded")
        if _attempts(conn, "appointment_id", booked.appointment_id) >= self._limits.per_appointment:
            return replace(base, reason="attempts-exhausted")
        today = now.astimezone(window.zone).date()
        used = _attempts(conn, "number_hash", chosen.hashed, _midnight(today, window.zone))
        day_full = used >= self._limits.per_day
        earliest = _midnight(today + timedelta(days=1), window.zone) if day_full else now
        why_not_now = "attempts-exhausted" if day_full else blocked(window, callee, now)
        at = next_open(window, callee, earliest, booked.start)
        if at is None:
            return replace(base, reason=why_not_now or "outside-window")
        if at == now:
            return replace(base, action="call-now", at=now, reason=None)
        return replace(base, action="later", at=at, reason=why_not_now)

    def _numbers(self, conn: Connection, booked: _Booked) -> list[_Number]:
        """The record's number, then the ledger's, each with why it may not be called."""
        raw = [booked.phone] if booked.phone else []
        rows = conn.execute(
            "SELECT number FROM outbound_consents WHERE patient_id = ?"
            " ORDER BY revoked_at IS NULL DESC, given_at DESC, id DESC",
            (booked.patient_id,),
        )
        raw += [str(r[0]) for r in rows]
        out: dict[str, _Number] = {}
        for text in raw:
            number = e164(text)
            if number is None:
                continue
            hashed = number_hash(self._key, number)
            if hashed not in out:
                dnc = on_dnc(conn, *number_hashes(self._key, number))
                out[hashed] = _Number(
                    number, hashed, _refusal(conn, booked.patient_id, hashed, dnc)
                )
        return list(out.values())


def _refusal(conn: Connection, patient_id: str, hashed: str, dnc: bool) -> str | None:
    if dnc:
        return "dnc"
    status = consent_status(conn, patient_id, hashed)
    return (
        None if status == "active" else "consent-revoked" if status == "revoked" else "no-consent"
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def _reached(conn: Connection, appointment_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM outbound_attempts WHERE appointment_id = ?"
        " AND outcome IN ('answered', 'voicemail')",
        (appointment_id,),
    ).fetchone()
    return row is not None


_PER_APPOINTMENT = "SELECT count(*) FROM outbound_attempts WHERE appointment_id = ?"
_PER_NUMBER = "SELECT count(*) FROM outbound_attempts WHERE number_hash = ? AND at >= ?"


def _attempts(conn: Connection, column: str, value: str, since: datetime | None = None) -> int:
    """Attempts about an appointment, or to a number (since a clinic midnight)."""
    if column == "appointment_id":
        return int(conn.execute(_PER_APPOINTMENT, (value,)).fetchone()[0])
    params = (value, since.timestamp() if since else 0.0)
    return int(conn.execute(_PER_NUMBER, params).fetchone()[0])

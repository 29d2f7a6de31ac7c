"""Schedule data and the backend interface a later EHR adapter (FHIR R4) implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    name: str
    specialty: str


@dataclass(frozen=True, slots=True)
class AppointmentType:
    id: str
    name: str
    minutes: int


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    first_name: str  # PHI
    last_name: str  # PHI
    birth_date: date  # PHI


@dataclass(frozen=True, slots=True)
class Slot:
    provider_id: str
    type_id: str
    start: datetime  # aware, clinic time zone
    end: datetime


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    patient_id: str
    provider_id: str
    type_id: str
    start: datetime  # aware, clinic time zone
    end: datetime
    status: str  # "booked" | "cancelled"


@dataclass(frozen=True, slots=True)
class SlotQuery:
    type_id: str
    provider_id: str | None = None
    day: date | None = None  # only this day
    not_before: datetime | None = None
    earliest: time | None = None  # local time-of-day window
    latest: time | None = None
    limit: int = 3


class ScheduleBackend(Protocol):
    """What the workflows need from a schedule (built-in store, or an EHR adapter)."""

    async def find_slots(self, query: SlotQuery) -> list[Slot]: ...
    async def book(self, patient_id: str, slot: Slot, call_id: str | None) -> Appointment: ...
    async def reschedule(self, appointment_id: str, slot: Slot) -> Appointment: ...
    async def cancel(self, appointment_id: str) -> Appointment: ...
    async def upcoming(self, patient_id: str) -> list[Appointment]: ...
    async def find_patient(self, first: str, last: str, birth: date) -> Patient | None: ...
    async def providers(self) -> list[Provider]: ...
    async def appointment_types(self) -> list[AppointmentType]: ...

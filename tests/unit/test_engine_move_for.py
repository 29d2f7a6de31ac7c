"""The engine's entry point for a patient identified elsewhere (`move_for`): the
reschedule flow of one given appointment, turn by turn, every sentence a template."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.model import (
    Appointment,
    AppointmentType,
    Patient,
    Provider,
    Slot,
    SlotQuery,
)
from appliance.workflows import templates as t
from appliance.workflows.engine import Policy, WorkflowEngine
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.state import Stage
from appliance.workflows.understander import Understander

pytestmark = pytest.mark.unit

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=NY)  # a Friday
THURSDAY = date(2026, 12, 3)
PATIENT = Patient("p4", "Ana", "Ruiz", date(1970, 1, 1))
BOOKED = Appointment(
    "a4",
    "p4",
    "lee",
    "checkup",
    NOW + timedelta(days=3),
    NOW + timedelta(days=3, hours=1),
    "booked",
)


class Schedule:
    """Two slots on any day asked for; records what was moved."""

    def __init__(self) -> None:
        self.queries: list[SlotQuery] = []
        self.moved: list[tuple[str, Slot]] = []

    async def find_slots(self, query: SlotQuery) -> list[Slot]:
        self.queries.append(query)
        day = query.day or THURSDAY
        first = datetime(day.year, day.month, day.day, 13, 0, tzinfo=NY)
        return [
            Slot("lee", query.type_id, first + timedelta(minutes=30 * i),
                 first + timedelta(minutes=30 * i + 30))
            for i in range(2)
        ]  # fmt: skip

    async def reschedule(self, appointment_id: str, slot: Slot) -> Appointment:
        self.moved.append((appointment_id, slot))
        return Appointment(appointment_id, "p4", slot.provider_id, slot.type_id, slot.start,
                           slot.end, "booked")  # fmt: skip

    async def book(self, patient_id: str, slot: Slot, call_id: str | None) -> Appointment:
        raise AssertionError("not expected")

    async def cancel(self, appointment_id: str) -> Appointment:
        raise AssertionError("not expected")

    async def upcoming(self, patient_id: str) -> list[Appointment]:
        raise AssertionError("the appointment is given, not looked up")

    async def find_patient(self, first: str, last: str, birth: Any) -> Patient | None:
        raise AssertionError("the patient is given, not looked up")

    async def providers(self) -> list[Provider]:
        return [Provider("lee", "Dr Amanda Lee", "family medicine")]

    async def appointment_types(self) -> list[AppointmentType]:
        return [AppointmentType("checkup", "Checkup", 30)]


def engine(schedule: Schedule, policy: Policy | None = None) -> WorkflowEngine:
    return WorkflowEngine(schedule, KnowledgeBase([]), NY, policy or Policy(), clock=lambda: NOW)


async def turn(e: WorkflowEngine, text: str) -> str:
    u = await Understander(None, "never").understand(text, NOW)
    return (await e.turn(u, text)).say


async def test_a_day_said_with_the_wish_is_offered_at_once_then_moved() -> None:
    schedule = Schedule()
    e = engine(schedule)
    u = await Understander(None, "never").understand("Can I move it to Thursday?", NOW)
    first = await e.move_for(PATIENT, BOOKED, u)
    assert schedule.queries[0].day == THURSDAY and schedule.queries[0].type_id == "checkup"
    assert first.say.startswith("I have Thursday, December 3 at 1:00 PM with Dr Amanda Lee")
    assert e.state.stage == Stage.CHOOSE_SLOT and e.state.prompt == first.say
    assert await turn(e, "the first one") == t.confirm_booking(
        datetime(2026, 12, 3, 13, 0, tzinfo=NY), "Dr Amanda Lee"
    )
    done = await turn(e, "yes")
    assert done == t.moved(datetime(2026, 12, 3, 13, 0, tzinfo=NY), "Dr Amanda Lee")
    assert [m[0] for m in schedule.moved] == ["a4"]  # the given appointment, no other
    state = e.state  # (read again: the turns changed it)
    assert state.stage == Stage.IDLE and state.patient == PATIENT
    assert [(a.action.value, a.outcome, a.ref) for a in e.state.actions][-1] == (
        "reschedule", "ok", "a4",
    )  # fmt: skip


async def test_no_day_said_asks_for_one() -> None:
    e = engine(Schedule())
    u = await Understander(None, "never").understand("I need a different day", NOW)
    decision = await e.move_for(PATIENT, BOOKED, u)
    assert decision.say == t.ASK_DAY and e.state.stage == Stage.CHOOSE_DAY
    assert e.state.task == Intent.RESCHEDULE and e.state.appointment == BOOKED


async def test_a_reschedule_use_case_not_enabled_goes_to_the_front_desk() -> None:
    schedule = Schedule()
    e = engine(schedule, Policy(enabled=frozenset({Intent.CANCEL})))
    u = await Understander(None, "never").understand("can I move it", NOW)
    decision = await e.move_for(PATIENT, BOOKED, u)
    assert decision.transfer == "use-case-disabled" and not schedule.queries
    assert e.state.stage == Stage.IDLE

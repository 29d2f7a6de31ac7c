"""A move asked on a reminder call goes through the inbound workflows (virtual clock,
scripted callee, fake speech at the TTS / STT / end-of-turn seams; the real store for
the schedule, the appointment and the audit log)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.governance.use_cases import ensure_built_in
from appliance.outbound import templates as say
from appliance.outbound.dialler import CallReport
from appliance.outbound.planner import Contact, Decision
from appliance.outbound.reminder_call import (
    ReminderCall,
    ReminderSettings,
    Voice,
    appointment_facts,
)
from appliance.outbound.reminder_move import Moves, booked_appointment
from appliance.outbound.run import reminder_call
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.store.db import Connection, Database
from appliance.workflows import templates as t
from appliance.workflows.engine import Policy, WorkflowEngine
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.understander import Understander
from tests.conftest import store_config
from tests.fakes import FakeCall, FakeClock, FakeDetector, FakeStt, FakeTts, Speech
from tests.integration.outbound_support import NY, audit_rows, book, consent, ledger, open_store

pytestmark = pytest.mark.integration

MONDAY = date(2026, 11, 30)
START = datetime.combine(MONDAY, time(9, 0), NY)  # Dr Lee, Monday 9:00
CALLED = datetime(2026, 11, 27, 10, 0, tzinfo=NY)  # the reminder call: Friday 10:00
THURSDAY_1PM = datetime(2026, 12, 3, 13, 0, tzinfo=NY)  # Dr Lee works Thursday 13-17
NUMBER = "+12125550144"
CLINIC, CALLBACK = "Maple Clinic", "555 010 0999"
DECISION = Decision("a4", "pt-x", "pn-x", "call-now", None, None, None, Contact("p4", NUMBER))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "m.db")
    book(store, "a4", "p4", START)
    consent(ledger(store), "p4", NUMBER, datetime(2026, 10, 1, tzinfo=NY))
    yield store
    store.close()


def clock_at(moment: datetime) -> FakeClock:
    return FakeClock(start=moment.timestamp() - FakeClock.EPOCH)


def moves(db: Database, clock: FakeClock, policy: Policy | None = None) -> Moves:
    """The engine as appliance.workflows.factory builds it, its 'now' the virtual clock."""

    def now() -> datetime:
        return datetime.fromtimestamp(clock.time(), NY)

    schedule = BuiltinSchedule(db, NY, now)

    def engine() -> WorkflowEngine:
        return WorkflowEngine(schedule, KnowledgeBase([]), NY, policy or Policy(), clock=now)

    return Moves(engine, Understander(None, "never"), booked_appointment(db, NY))


async def run(
    db: Database, lines: list[str], policy: Policy | None = None
) -> tuple[CallReport, FakeTts]:
    clock = clock_at(CALLED)
    call = FakeCall(clock, [Speech(0.3, 0.5)], answers=len(lines) - 1)
    tts = FakeTts(clock)
    voice = Voice(tts, FakeStt(clock, lines), lambda: FakeDetector(clock), clock)
    talk = ReminderCall(
        voice,
        ReminderSettings(CLINIC, CALLBACK),
        appointment_facts(db, NY),
        BuiltinSchedule(db, NY).cancel,
        moves(db, clock, policy),
    )
    report = await clock.run(talk(call, DECISION, ledger(db).for_call("call-9")))
    return report, tts


def appointment(db: Database) -> tuple[datetime, str, float | None]:
    def read(conn: Connection) -> tuple[datetime, str, float | None]:
        row = conn.execute(
            "SELECT start_utc, status, confirmed_at FROM appointments WHERE id = 'a4'"
        ).fetchone()
        return datetime.fromtimestamp(int(row[0]), NY), str(row[1]), row[2]

    return db.query(read)


async def test_can_i_move_it_to_thursday_is_offered_read_back_and_moved(db: Database) -> None:
    lines = ["hello?", "yes speaking", "Can I move it to Thursday?", "the first one", "yes"]
    report, tts = await run(db, lines)
    assert report == CallReport("answered", "rescheduled")
    offer = t.offer(
        [(THURSDAY_1PM, "Dr Amanda Lee"), (THURSDAY_1PM.replace(minute=30), "Dr Amanda Lee")]
    )
    moved = t.moved(THURSDAY_1PM, "Dr Amanda Lee").removesuffix(t.ANYTHING_ELSE).rstrip()
    assert tts.texts == [
        say.disclosure(CLINIC),
        say.ask_for("Ana"),
        say.details(CLINIC, START),
        offer,  # the workflows' own sentences from here on
        t.confirm_booking(THURSDAY_1PM, "Dr Amanda Lee"),
        f"{moved} {say.GOODBYE}",
    ]
    assert appointment(db) == (THURSDAY_1PM, "booked", None)  # moved, not confirmed
    rows = audit_rows(db)
    assert ("call.workflow-find-slots", "call", "call-9", "ok", "tester") in rows
    assert ("call.workflow-reschedule", "call", "call-9", "ok", "tester") in rows
    assert ("reminder.rescheduled", "appointment", "a4", "rescheduled", "tester") in rows


async def test_a_different_day_is_asked_for_then_offered(db: Database) -> None:
    lines = ["hello", "yes", "I need a different day", "Thursday", "the second one", "yes"]
    report, tts = await run(db, lines)
    assert report == CallReport("answered", "rescheduled")
    assert tts.texts[3] == t.ASK_DAY
    assert appointment(db)[0] == THURSDAY_1PM.replace(minute=30)


async def test_a_no_at_the_read_back_leaves_the_appointment(db: Database) -> None:
    lines = ["hello", "yes", "can I move it to Thursday", "the first one", "no"]
    report, tts = await run(db, lines)
    assert report == CallReport("answered", "left-as-is")
    assert tts.texts[-1] == say.left_as_is(CALLBACK)
    assert appointment(db)[0] == START
    assert "reminder.rescheduled" not in {row[0] for row in audit_rows(db)}


async def test_no_i_cant_make_it_still_gets_the_cancel_question(db: Database) -> None:
    report, tts = await run(db, ["hello", "yes", "no I can't make it", "no leave it"])
    assert report == CallReport("answered", "left-as-is")
    assert tts.texts[3] == say.ask_cancel()


async def test_a_move_asked_at_the_cancel_question_is_taken(db: Database) -> None:
    lines = ["hello", "yes", "no", "no, can I move it to Thursday?", "the first one", "yes"]
    report, _ = await run(db, lines)
    assert report == CallReport("answered", "rescheduled")
    assert appointment(db)[0] == THURSDAY_1PM


async def test_an_opt_out_inside_the_move_is_honoured(db: Database) -> None:
    lines = ["hello", "yes", "can I move it", "actually just stop calling me"]
    report, tts = await run(db, lines)
    assert report == CallReport("answered", "opted-out")
    assert tts.texts[-1] == say.opted_out() and ledger(db).on_dnc(NUMBER)
    assert appointment(db)[0] == START


async def test_reschedule_not_enabled_sends_the_callee_to_the_front_desk(db: Database) -> None:
    lines = ["hello", "yes", "can I move it to Thursday"]
    report, tts = await run(db, lines, Policy(enabled=frozenset()))
    assert report == CallReport("answered", "to-front-desk")
    assert tts.texts[-1] == say.front_desk(CALLBACK)
    assert appointment(db)[0] == START


async def test_not_understood_twice_ends_with_the_call_back_number(db: Database) -> None:
    lines = ["hello", "yes", "can I move it to Thursday", "hmm", "what"]
    report, tts = await run(db, lines)
    assert report == CallReport("answered", "to-front-desk")
    assert tts.texts[-2:] == [t.NOT_UNDERSTOOD, say.front_desk(CALLBACK)]
    assert t.TRANSFER not in tts.texts  # an outbound call transfers to no one
    rows = audit_rows(db)
    assert ("call.workflow-transfer", "call", "call-9", "not-understood", "tester") in rows
    assert appointment(db)[0] == START


async def test_silence_in_the_move_ends_politely(db: Database) -> None:
    report, tts = await run(db, ["hello", "yes", "I need a different day"])
    assert report == CallReport("answered", "no-reply")
    assert tts.texts[-3:] == [t.ASK_DAY, t.ASK_DAY, say.front_desk(CALLBACK)]


async def test_an_emergency_said_in_the_move_gets_the_instruction(db: Database) -> None:
    lines = ["hello", "yes", "can I move it", "I'm having chest pain right now"]
    report, tts = await run(db, lines)
    assert report == CallReport("answered", "emergency")
    assert tts.texts[-1] == t.EMERGENCY.format(number="911")
    assert ("call.workflow-emergency", "call", "call-9", "instructed", "tester") in audit_rows(db)


def a_working_day_ahead() -> date:
    """A weekday 2 to 6 days from today (real time: the run's engine reads the wall
    clock), so that its name alone means that date; Dr Lee works every weekday."""
    day = datetime.now(NY).date() + timedelta(days=2)
    while day.weekday() >= 5 or day.isoformat() in ("2026-11-26", "2026-12-25"):
        day += timedelta(days=1)
    return day


@pytest.mark.parametrize(("demo", "result"), [(True, "rescheduled"), (False, "to-front-desk")])
async def test_the_runs_wiring_moves_only_while_the_reschedule_use_case_is_live(
    tmp_path: Path, db: Database, demo: bool, result: str
) -> None:
    """appliance.outbound.run.reminder_call: the engine as inbound builds it, the use case
    gate included (demo: the scheduling use case in pilot; else in draft, not live)."""
    ensure_built_in(db, demo=demo)
    settings = load_settings(store_config(tmp_path))
    day = a_working_day_ahead()
    lines = ["hello", "yes", f"can I move it to {day:%A}", "the first one", "yes"]
    clock = clock_at(CALLED)
    call = FakeCall(clock, [Speech(0.3, 0.5)], answers=len(lines) - 1)
    voice = Voice(FakeTts(clock), FakeStt(clock, lines), lambda: FakeDetector(clock), clock)
    talk = reminder_call(settings, db, voice, CALLBACK)
    report = await clock.run(talk(call, DECISION, ledger(db).for_call("call-7")))
    assert report == CallReport("answered", result)
    moved_to = appointment(db)[0]
    assert (moved_to.date() == day) if demo else (moved_to == START)

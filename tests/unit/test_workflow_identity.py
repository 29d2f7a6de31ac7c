"""Identity and confirmations cannot be talked past: the engine on the real built-in
schedule (SQLCipher in a temporary directory), scripted understandings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent, Slots, Understanding
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.scheduling.model import SlotQuery
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.workflows import templates as t
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.state import Decision

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)  # Tuesday
MARIA = "My name is Maria Gonzalez, born April 12th, 1980."
JOHN = "John Smith"  # p2, born 09/30/1975


def U(intent: Intent = Intent.OTHER, **slots: str) -> Understanding:
    return Understanding(intent, Slots(**slots), False, 0.9, "llm")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "w.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


@pytest.fixture
def schedule(db: Database) -> BuiltinSchedule:
    return BuiltinSchedule(db, TZ, now=lambda: NOW)


def engine_on(schedule: BuiltinSchedule) -> WorkflowEngine:
    return WorkflowEngine(schedule, load_kb(ASSETS / "kb.toml"), TZ, clock=lambda: NOW)


async def book_friday(schedule: BuiltinSchedule, patient_id: str, index: int) -> None:
    slots = await schedule.find_slots(
        SlotQuery("checkup", provider_id="lee", day=NOW.date().replace(day=27), limit=4)
    )
    await schedule.book(patient_id, slots[index], None)


async def talk(engine: WorkflowEngine, *turns: tuple[str, Understanding]) -> Decision:
    decision = None
    for text, understanding in turns:
        decision = await engine.turn(understanding, text)
    assert decision is not None
    return decision


# --- 1. a negated or mixed answer is never a yes -----------------------------------


async def test_no_that_is_not_correct_does_not_book(schedule: BuiltinSchedule) -> None:
    engine = engine_on(schedule)
    last = await talk(
        engine,
        ("I'd like to book an appointment", U(Intent.BOOK)),
        (MARIA, U()),
        ("Friday please", U(date="Friday")),
        ("the first one", U()),
        ("no, that is not correct", U()),
    )
    assert "booked for" not in last.say and await schedule.upcoming("p1") == []


async def test_yeah_no_dont_move_it_asks_again(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    before = await schedule.upcoming("p1")
    engine = engine_on(schedule)
    last = await talk(
        engine,
        ("I need to reschedule", U(Intent.RESCHEDULE)),
        (MARIA, U()),
        ("Monday", U(date="Monday")),
        ("the first one", U()),
        ("yeah, no, don't move it", U()),
    )
    assert last.say == t.YES_OR_NO and last.transfer is None
    assert await schedule.upcoming("p1") == before


async def test_an_unclear_answer_does_not_cancel(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    last = await talk(
        engine, ("cancel my appointment", U(Intent.CANCEL)), (MARIA, U()), ("uh, wait", U())
    )
    assert last.say == t.YES_OR_NO and len(await schedule.upcoming("p1")) == 1
    done = await talk(engine, ("yes please", U()))
    assert "is cancelled" in done.say and await schedule.upcoming("p1") == []


# --- 2. a new person named means identity again ------------------------------------


async def test_now_cancel_for_my_son_identifies_the_son(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)  # Maria's, 9:00
    await book_friday(schedule, "p2", 3)  # John's, 10:00 (9:00 is taken now)
    engine = engine_on(schedule)
    status = await talk(
        engine, ("when is my appointment", U(Intent.APPOINTMENT_STATUS)), (MARIA, U())
    )
    assert "9:00 AM" in status.say
    son = "now cancel for my son, John Smith, born 09/30/1975"
    asked = await talk(engine, (son, U(Intent.CANCEL, patient_name=JOHN)))
    assert "10:00 AM" in asked.say and "cancel" in asked.say  # John's, not Maria's
    assert engine.state.patient is not None and engine.state.patient.id == "p2"
    await talk(engine, ("yes", U()))
    assert len(await schedule.upcoming("p1")) == 1 and await schedule.upcoming("p2") == []


async def test_for_my_daughter_without_details_asks_who(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(engine, ("when is my appointment", U(Intent.APPOINTMENT_STATUS)), (MARIA, U()))
    asked = await talk(engine, ("and cancel the one for my daughter", U(Intent.CANCEL)))
    assert asked.say == t.ASK_IDENTITY and engine.state.patient is None
    assert len(await schedule.upcoming("p1")) == 1


async def test_an_unknown_other_person_is_not_acted_on(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(engine, ("when is my appointment", U(Intent.APPOINTMENT_STATUS)), (MARIA, U()))
    other = "cancel it for Jane Doe, born 01/02/2010"
    last = await talk(engine, (other, U(Intent.CANCEL, patient_name="Jane Doe")))
    assert "cancel" not in last.say.lower() and engine.state.patient is None
    assert len(await schedule.upcoming("p1")) == 1


async def test_the_same_patient_again_needs_no_new_identity(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(engine, ("when is my appointment", U(Intent.APPOINTMENT_STATUS)), (MARIA, U()))
    again = await talk(engine, ("cancel it, " + MARIA, U(Intent.CANCEL)))
    assert "Shall I cancel it?" in again.say


async def test_a_person_the_caller_did_not_name_is_not_another_person(
    schedule: BuiltinSchedule,
) -> None:
    """The small CPU model fills slots the caller never said (a "yes" understood as John
    Doe, born 1980-05-25): only a name or date of birth in the caller's own words counts."""
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(engine, ("cancel my appointment", U(Intent.CANCEL)), (MARIA, U()))
    made_up = U(Intent.APPOINTMENT_STATUS, patient_name="John Doe", date_of_birth="1980-05-25")
    done = await talk(engine, ("yes", made_up))
    assert "is cancelled" in done.say and await schedule.upcoming("p1") == []


# --- 3. the same words whether or not the person is a patient ----------------------

UNKNOWN = "My name is Jane Doe, born May 5th, 1990."
WRONG_DOB = "My name is Maria Gonzalez, born April 13th, 1980."
NAME_ONLY = "My name is Maria Gonzalez."


@pytest.mark.parametrize("attempt", [UNKNOWN, WRONG_DOB, NAME_ONLY])
async def test_identity_failures_all_sound_the_same(
    schedule: BuiltinSchedule, attempt: str
) -> None:
    engine = engine_on(schedule)
    said = [(await engine.turn(U(Intent.CANCEL), "cancel my appointment")).say]
    for _ in range(2):
        decision = await engine.turn(U(), attempt)
        said.append(decision.say)
    assert said == [t.ASK_IDENTITY, t.IDENTITY_AGAIN, t.IDENTITY_NOT_VERIFIED]
    assert decision.transfer == "identity-failed"
    for line in said:
        assert not any(word in line.lower() for word in ("match", "find", "record", "found"))

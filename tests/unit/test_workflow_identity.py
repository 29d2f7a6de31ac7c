"""Identity and confirmations cannot be talked past: the engine on the real built-in
schedule (SQLCipher in a temporary directory), scripted intents and the parsers' details."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.scheduling.model import SlotQuery
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.workflows import templates as t
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.said import Said, Vocabulary, read_details
from appliance.workflows.state import Decision, Stage
from appliance.workflows.understander import Understanding

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)  # Tuesday
MARIA = "My name is Maria Gonzalez, born April 12th, 1980."
JOHN = "John Smith"  # p2, born 09/30/1975
KB = load_kb(ASSETS / "kb.toml")


def U(text: str, intent: Intent = Intent.INFORM) -> Understanding:
    """The understanding of `text`: a scripted intent, the details read from the words."""
    return Understanding(intent, read_details(text, Vocabulary(kb=KB), NOW), False, 0.9, "rules")


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
    return WorkflowEngine(schedule, KB, TZ, clock=lambda: NOW)


async def book_friday(schedule: BuiltinSchedule, patient_id: str, index: int) -> None:
    slots = await schedule.find_slots(
        SlotQuery("checkup", provider_id="lee", day=NOW.date().replace(day=27), limit=4)
    )
    await schedule.book(patient_id, slots[index], None)


async def talk(engine: WorkflowEngine, *turns: tuple[str, Intent]) -> Decision:
    decision = None
    for text, intent in turns:
        decision = await engine.turn(U(text, intent), text)
    assert decision is not None
    return decision


# --- 1. a negated or mixed answer is never a yes -----------------------------------


async def test_no_that_is_not_correct_does_not_book(schedule: BuiltinSchedule) -> None:
    engine = engine_on(schedule)
    last = await talk(
        engine,
        ("I'd like to book an appointment", Intent.BOOK),
        (MARIA, Intent.INFORM),
        ("Friday please", Intent.INFORM),
        ("the first one", Intent.INFORM),
        ("no, that is not correct", Intent.INFORM),
    )
    assert "booked for" not in last.say and await schedule.upcoming("p1") == []


async def test_yeah_no_dont_move_it_asks_again(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    before = await schedule.upcoming("p1")
    engine = engine_on(schedule)
    last = await talk(
        engine,
        ("I need to reschedule", Intent.RESCHEDULE),
        (MARIA, Intent.INFORM),
        ("Monday", Intent.INFORM),
        ("the first one", Intent.INFORM),
        ("yeah, no, don't move it", Intent.INFORM),
    )
    assert last.say == t.YES_OR_NO and last.transfer is None
    assert await schedule.upcoming("p1") == before


async def test_an_unclear_answer_does_not_cancel(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    last = await talk(
        engine,
        ("cancel my appointment", Intent.CANCEL),
        (MARIA, Intent.INFORM),
        ("uh, wait", Intent.INFORM),
    )
    assert last.say == t.YES_OR_NO and len(await schedule.upcoming("p1")) == 1
    done = await talk(engine, ("yes please", Intent.INFORM))
    assert "is cancelled" in done.say and await schedule.upcoming("p1") == []


# --- 2. a new person named means identity again ------------------------------------


async def test_now_cancel_for_my_son_identifies_the_son(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)  # Maria's, 9:00
    await book_friday(schedule, "p2", 3)  # John's, 10:00 (9:00 is taken now)
    engine = engine_on(schedule)
    status = await talk(
        engine, ("when is my appointment", Intent.APPOINTMENT_STATUS), (MARIA, Intent.INFORM)
    )
    assert "9:00 AM" in status.say
    son = "now cancel for my son, John Smith, born 09/30/1975"
    asked = await talk(engine, (son, Intent.CANCEL))  # the son named with his birth date
    assert "10:00 AM" in asked.say and "cancel" in asked.say  # John's, not Maria's
    assert engine.state.patient is not None and engine.state.patient.id == "p2"
    await talk(engine, ("yes", Intent.INFORM))
    assert len(await schedule.upcoming("p1")) == 1 and await schedule.upcoming("p2") == []


async def test_for_my_daughter_without_details_asks_who(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(
        engine, ("when is my appointment", Intent.APPOINTMENT_STATUS), (MARIA, Intent.INFORM)
    )
    asked = await talk(engine, ("and cancel the one for my daughter", Intent.CANCEL))
    assert asked.say == t.ASK_IDENTITY and engine.state.patient is None
    assert len(await schedule.upcoming("p1")) == 1


async def test_an_unknown_other_person_is_not_acted_on(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(
        engine, ("when is my appointment", Intent.APPOINTMENT_STATUS), (MARIA, Intent.INFORM)
    )
    other = "cancel it for Jane Doe, born 01/02/2010"
    last = await talk(engine, (other, Intent.CANCEL))
    assert "cancel" not in last.say.lower() and engine.state.patient is None
    assert len(await schedule.upcoming("p1")) == 1


async def test_the_same_patient_again_needs_no_new_identity(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(
        engine, ("when is my appointment", Intent.APPOINTMENT_STATUS), (MARIA, Intent.INFORM)
    )
    again = await talk(engine, ("cancel it, " + MARIA, Intent.CANCEL))
    assert "Shall I cancel it?" in again.say


async def test_a_person_the_caller_did_not_name_is_not_another_person(
    schedule: BuiltinSchedule,
) -> None:
    """Details not in the caller's words (a small model once read a "yes" as John Doe,
    born 1980-05-25) never name another person: only the caller's own words count."""
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    await talk(engine, ("cancel my appointment", Intent.CANCEL), (MARIA, Intent.INFORM))
    made_up = Said(name=("John", "Doe"), dob=date(1980, 5, 25))
    done = await engine.turn(Understanding(Intent.INFORM, made_up, False, 0.9, "llm"), "yes")
    assert "is cancelled" in done.say and await schedule.upcoming("p1") == []


# --- 3. the same words whether or not the person is a patient ----------------------

UNKNOWN = "My name is Jane Doe, born May 5th, 1990."
WRONG_DOB = "My name is Maria Gonzalez, born April 13th, 1980."
NAME_ONLY = "My name is Maria Gonzalez."


@pytest.mark.parametrize(
    ("lines", "replies"),
    [
        ((UNKNOWN, UNKNOWN), [t.IDENTITY_AGAIN, t.IDENTITY_NOT_VERIFIED]),
        ((WRONG_DOB, WRONG_DOB), [t.IDENTITY_AGAIN, t.IDENTITY_NOT_VERIFIED]),
        (  # over turns; the second try corrects only the birth date (the name is kept)
            (NAME_ONLY, "April 13th, 1980", "no, April 14th, 1980"),
            [t.ASK_BIRTH_DATE, t.IDENTITY_AGAIN, t.IDENTITY_NOT_VERIFIED],
        ),
    ],
    ids=["unknown", "wrong-birth-date", "birth-date-next-turn-then-corrected"],
)
async def test_identity_failures_all_sound_the_same(
    schedule: BuiltinSchedule, lines: tuple[str, ...], replies: list[str]
) -> None:
    engine = engine_on(schedule)
    said = [(await talk(engine, ("cancel my appointment", Intent.CANCEL))).say]
    for line in lines:
        decision = await talk(engine, (line, Intent.INFORM))
        said.append(decision.say)
    assert said == [t.ASK_IDENTITY, *replies]
    assert decision.transfer == "identity-failed"
    for line in said:
        assert not any(word in line.lower() for word in ("match", "find", "record", "found"))


@pytest.mark.parametrize(
    ("line", "asked"),
    [
        (NAME_ONLY, t.ASK_BIRTH_DATE),  # a patient's name
        ("My name is Jane Doe.", t.ASK_BIRTH_DATE),  # nobody's
        ("I was born April 12th, 1980.", t.ASK_FULL_NAME),  # a patient's birth date
        ("I was born May 5th, 1990.", t.ASK_FULL_NAME),  # nobody's
    ],
)
async def test_half_an_identity_is_asked_to_complete_before_any_lookup(
    schedule: BuiltinSchedule, line: str, asked: str
) -> None:
    """Only a name or only a birth date: the missing part is asked for, in the same words
    whether or not such a patient exists, and nothing is looked up or counted yet."""
    engine = engine_on(schedule)
    await talk(engine, ("cancel my appointment", Intent.CANCEL))
    decision = await talk(engine, (line, Intent.INFORM))
    assert decision.say == asked and decision.transfer is None
    assert engine.state.stage == Stage.IDENTIFY and engine.state.patient is None
    assert engine.state.identity_attempts == 0 and engine.state.actions == []


async def test_name_and_birth_date_in_separate_turns_identify(schedule: BuiltinSchedule) -> None:
    await book_friday(schedule, "p1", 2)
    engine = engine_on(schedule)
    last = await talk(
        engine,
        ("cancel my appointment", Intent.CANCEL),
        (NAME_ONLY, Intent.INFORM),
        ("April 12th, 1980", Intent.INFORM),
    )
    assert "Shall I cancel it?" in last.say
    assert engine.state.patient is not None and engine.state.patient.id == "p1"


async def test_turns_with_no_identity_are_asked_again_then_handed_over(
    schedule: BuiltinSchedule,
) -> None:
    """Two turns in a row with no name or birth date are one failed try (nothing looked
    up); two failed tries go to the front desk."""
    engine = engine_on(schedule)
    said = [(await talk(engine, ("cancel my appointment", Intent.CANCEL))).say]
    for line in ("sorry, what?", "um", "one second", "I don't know"):
        said.append((await talk(engine, (line, Intent.OTHER))).say)
    assert said == [
        t.ASK_IDENTITY,
        t.ASK_IDENTITY_AGAIN,
        t.IDENTITY_AGAIN,
        t.ASK_IDENTITY_AGAIN,
        t.IDENTITY_NOT_VERIFIED,
    ]
    outcomes = [a.outcome for a in engine.state.actions]
    assert outcomes == ["no-match", "no-match", "identity-failed"]


async def test_a_parent_naming_the_child_in_the_request_identifies_the_child(
    schedule: BuiltinSchedule,
) -> None:
    """The caller gives their own name and then the patient's with the patient's birth
    date: the patient named is looked up, not the caller (before, the caller's name was
    looked up with the child's birth date, and the lookup failed)."""
    engine = engine_on(schedule)
    said = "hi this is mary smith, i'm calling for my son john smith, born september 30 1975"
    await talk(engine, (said, Intent.BOOK))
    assert engine.state.patient is not None and engine.state.patient.id == "p2"

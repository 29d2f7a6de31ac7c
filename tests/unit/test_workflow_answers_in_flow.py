"""An answer said with a change word inside a booking is an answer, not a new task: the
engine on the real built-in schedule (SQLCipher in a temporary directory), each turn's
intent as the rules read it, the details from the parsers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.workflows import templates as t
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.intents import read
from appliance.workflows.kb import load_kb
from appliance.workflows.said import Vocabulary, read_details
from appliance.workflows.state import Decision
from appliance.workflows.understander import Understanding

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)  # Tuesday
KB = load_kb(ASSETS / "kb.toml")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[WorkflowEngine]:
    database = Database.open(tmp_path / "w.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    yield WorkflowEngine(BuiltinSchedule(database, TZ, now=lambda: NOW), KB, TZ, clock=lambda: NOW)
    database.close()


async def say(engine: WorkflowEngine, text: str) -> tuple[Intent, Decision]:
    """One caller turn, its intent as the rules read it."""
    intent = read(text).intent
    u = Understanding(intent, read_details(text, Vocabulary(kb=KB), NOW), False, 0.9, "rules")
    return intent, await engine.turn(u, text)


async def booking_under_way(engine: WorkflowEngine) -> None:
    await say(engine, "I'd like to book a checkup")
    await say(engine, "My name is Maria Gonzalez, born April 12th, 1980.")
    assert engine.state.task == Intent.BOOK and engine.state.patient is not None


@pytest.mark.parametrize(
    ("answer", "read_as", "offered"),
    [
        ("no, can you do friday instead", Intent.RESCHEDULE, "Friday, November 27"),
        ("scratch that, monday would be better", Intent.CANCEL, "Monday, November 30"),
    ],
)
async def test_an_answer_with_a_change_word_keeps_the_booking(
    engine: WorkflowEngine, answer: str, read_as: Intent, offered: str
) -> None:
    """The rules read these as a change or a cancel (a line alone could be one); inside a
    booking they answer its question. Before, the booking was dropped and a reschedule or
    a cancel of the caller's appointments started."""
    await booking_under_way(engine)
    intent, reply = await say(engine, answer)
    assert intent == read_as
    assert engine.state.task == Intent.BOOK and offered in reply.say  # that day's openings


async def test_a_named_cancel_inside_a_booking_starts_the_cancel(engine: WorkflowEngine) -> None:
    await booking_under_way(engine)
    _, reply = await say(
        engine, "actually, forget the booking, please cancel my appointment on friday"
    )
    assert reply.say.startswith(t.NO_APPOINTMENTS)  # the cancel looked (she has none)
    assert engine.state.task != Intent.BOOK

"""A limit said for the time ("any time after 3", "not before eleven") bounds the openings
offered instead of naming one time; two days or times asked as a question name none.
Real store and schedule, the engine on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.scheduling.model import Slot, SlotQuery
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.said import Vocabulary, read_details
from appliance.workflows.understander import Understanding
from appliance.workflows.when import when_wanted
from tests.understanding_eval import demo_vocabulary

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)  # a Tuesday
MARIA = "My name is Maria Gonzalez, born April 12th, 1980."
KB = load_kb(ASSETS / "kb.toml")


@pytest.fixture
def schedule(tmp_path: Path) -> Iterator[BuiltinSchedule]:
    database = Database.open(tmp_path / "w.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    yield BuiltinSchedule(database, TZ, now=lambda: NOW)
    database.close()


async def offered_for(schedule: BuiltinSchedule, when: str) -> list[time]:
    engine = WorkflowEngine(schedule, KB, TZ, clock=lambda: NOW)
    for text, intent in (
        ("I'd like to book a checkup", Intent.BOOK),
        (MARIA, Intent.INFORM),
        (when, Intent.INFORM),
    ):
        said = read_details(text, Vocabulary(kb=KB), NOW)
        await engine.turn(Understanding(intent, said, False, 0.9, "rules"), text)
    assert engine.state.offered, "nothing was offered"
    return [slot.start.astimezone(TZ).time() for slot in engine.state.offered]


async def test_any_time_after_3_offers_openings_from_3_on(schedule: BuiltinSchedule) -> None:
    assert min(await offered_for(schedule, "thursday next week, any time after 3")) >= time(15, 0)


class RecordingSchedule(BuiltinSchedule):
    """The real schedule, keeping the queries it was asked."""

    queries: list[SlotQuery]

    async def find_slots(self, query: SlotQuery) -> list[Slot]:
        self.queries = [*getattr(self, "queries", []), query]
        return await super().find_slots(query)


async def test_not_before_eleven_looks_only_before_eleven(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "r.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    recording = RecordingSchedule(database, TZ, now=lambda: NOW)
    try:
        assert max(await offered_for(recording, "friday, before eleven please")) < time(11, 0)
        assert recording.queries[-1].latest == time(11, 0)
    finally:
        database.close()


@pytest.mark.parametrize(
    ("said", "at", "from_time", "until", "part"),
    [
        ("any time after 2", None, time(14, 0), None, None),
        ("in the evening after 5 on thursday", None, time(17, 0), None, "evening"),
        ("he cannot come before eleven", None, None, time(11, 0), None),
        ("can i get in at quarter after ten tomorrow", time(10, 15), None, None, None),
        ("at 3", time(15, 0), None, None, None),
        ("after lunch", None, None, None, "afternoon"),
    ],
)
def test_limits_are_bounds_not_times(
    said: str, at: time | None, from_time: time | None, until: time | None, part: str | None
) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.at, got.from_time, got.until, got.part_of_day) == (at, from_time, until, part)


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("is my appointment today or tomorrow, i can't remember", None, None),
        ("what time am i supposed to be there tomorrow, is it 9 or 9:30", date(2026, 11, 25), None),
        ("did you get me down for the 18th or the 19th", None, None),
        ("half two or half three on friday?", date(2026, 11, 27), None),
    ],
)
def test_two_days_or_times_asked_as_a_question_name_none(
    said: str, day: date | None, at: time | None
) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (day, at)


def test_two_doctors_asked_as_a_question_name_none() -> None:
    words = "am i scheduled with doctor patel or doctor alvarez"
    assert read_details(words, demo_vocabulary(), NOW).provider is None
    assert read_details("with doctor patel please", demo_vocabulary(), NOW).provider == "patel"


async def test_a_reschedule_never_looks_on_the_day_being_moved_away_from(tmp_path: Path) -> None:
    """ "I can't make it on wednesday, can we find another time", then no day in the answer:
    the openings are looked for without that day, not on it."""
    database = Database.open(tmp_path / "m.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    recording = RecordingSchedule(database, TZ, now=lambda: NOW)
    try:
        wednesday = date(2026, 11, 25)
        [slot] = await recording.find_slots(SlotQuery("checkup", day=wednesday, limit=1))
        await recording.book("p1", slot, None)
        engine = WorkflowEngine(recording, KB, TZ, clock=lambda: NOW)
        for text, intent in (
            ("I can't make it on wednesday, can we find another time", Intent.RESCHEDULE),
            (MARIA, Intent.INFORM),
            ("whatever you have is fine", Intent.INFORM),
        ):
            said = read_details(text, Vocabulary(kb=KB), NOW)
            await engine.turn(Understanding(intent, said, False, 0.9, "rules"), text)
        assert recording.queries[-1].day != wednesday
        assert all(s.start.astimezone(TZ).date() != wednesday for s in engine.state.offered)
    finally:
        database.close()

"""Details of plain callers written to the set's own brief (concepts from lines_dev12's
misses): the new day after "could you give me" or "i need the 18th", a day given up
"instead of today" with the time kept, "any thursday" and "any day but wednesday" as no
day, mornings ruled out, "the end of the day", "like the 7th", "a week from then", a
visit type corrected, a name "under" which a visit is booked, a first name said before
"last name ...", and checks on a visit asked plainly. New phrasings; 12 of the 19 cases
failed before, the others guard what the new rules must leave alone."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.intents import read
from appliance.workflows.names import heard_name
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.when import when_wanted
from appliance.workflows.wording import normal
from tests.understanding_eval import demo_vocabulary

pytestmark = pytest.mark.unit

NOW = datetime(2027, 5, 12, 9, 10, tzinfo=ZoneInfo("America/New_York"))  # a Wednesday


@pytest.mark.parametrize(
    ("said", "day", "at", "part"),
    [
        ("monday is no good, can you give me tuesday instead", date(2027, 5, 18), None, None),
        ("mine is on the 20th and i need the 24th", date(2027, 5, 24), None, None),
        ("could we do friday instead of today, at 11", date(2027, 5, 14), time(11, 0), None),
        ("he can see anyone, any thursday works", None, None, None),
        ("any day but friday", None, None, None),
        ("she can't do afternoons, so a morning", None, None, "morning"),
        ("near the end of the day on monday", date(2027, 5, 17), None, "afternoon"),
        ("in june, like the 3rd", date(2027, 6, 3), None, None),
        ("i had monday at 9, could i get a week from then", date(2027, 5, 24), time(9, 0), None),
    ],
)
def test_the_day_and_time_wanted(
    said: str, day: date | None, at: time | None, part: str | None
) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at, got.part_of_day) == (day, at, part)


def test_a_visit_type_corrected_is_the_one_meant() -> None:
    vocabulary = demo_vocabulary()
    assert vocabulary.appointment_type(normal("a physical, no sorry, a follow up")) == ("follow-up")
    assert vocabulary.appointment_type(normal("a checkup with doctor lee")) == "checkup"


def test_a_name_under_which_a_visit_is_booked() -> None:
    found = introduced_name("please cancel friday, it's under omar haddad")
    assert found is not None and found.pair() == ("Omar", "Haddad")


def test_a_first_name_said_before_the_last_name_is_labelled() -> None:
    found = heard_name("my name is lin, l i n, last name chen")
    assert found is not None and found.pair() == ("Lin", "Chen")


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("can you check my booking went through", Intent.APPOINTMENT_STATUS),
        ("is it still on for 3 tomorrow", Intent.APPOINTMENT_STATUS),
        ("did my checkup get cancelled", Intent.APPOINTMENT_STATUS),
        ("my physical is next week but i need it sooner", Intent.RESCHEDULE),
        ("is there a restroom i can use", Intent.CLINIC_INFO),
        ("whichever, doesn't matter, first is fine", Intent.INFORM),
        ("is it possible to bring my appointment forward", Intent.RESCHEDULE),
    ],
)
def test_plain_requests(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("my wife needs her stitches looked at on friday", Intent.BOOK),
        ("i missed it last time, can i book again for tuesday", Intent.BOOK),
    ],
)
def test_plain_bookings(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


def test_the_day_someone_moved_here_is_no_day_to_book() -> None:
    assert when_wanted("we moved here the 3rd of april, can we register", NOW, None).day is None


def test_a_callers_annual_is_the_physical() -> None:
    """ "my annual" is the yearly physical; an annual deductible is no visit."""
    vocabulary = demo_vocabulary()
    assert (
        vocabulary.appointment_type(normal("can i get my annual in with doctor li")) == "physical"
    )
    assert vocabulary.appointment_type(normal("i'd like to set up an annual visit")) == "physical"
    assert vocabulary.appointment_type(normal("did i meet the annual deductible")) is None

"""Callers whose first language is another (concepts from the unseen first run of
lines_dev13) and a twelfth author's lines (dev12): requests in their English, dangers said
plainly, a provider called by first name after a title, middle names, "Dr." in a sentence,
particles after a relative. New phrasings, not the tuning lines; each case failed before."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.identity import birth_date
from appliance.workflows.intents import read
from appliance.workflows.names import HeardName, heard_name
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.verify import heard_in_answer
from appliance.workflows.when import when_wanted
from appliance.workflows.wording import normal
from tests.understanding_eval import demo_vocabulary

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "said",
    [
        "my husband the face is falling to one side and the leg no move",
        "my grandmother cannot talk good since ten minutes",
        "my son is shaking on the ground",
        "she don't answer me, she is on the floor",
        "my little girl drank the medicine of her grandpa",
        "after the birth she is soaking a pad every hour",
        "his lips are getting big after the shrimp",
        "her tongue's swelling up",
        "my breathing is a struggle since this morning",
    ],
)
def test_dangers_said_plainly(said: str) -> None:
    assert read(said).intent == Intent.EMERGENCY


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("i need appointment for my wife, she have the headache", Intent.BOOK),
        ("quiero una cita for tuesday", Intent.BOOK),
        ("please change my appointment for the afternoon", Intent.RESCHEDULE),
        ("is possible other date for my son", Intent.RESCHEDULE),
        ("i want annul the appointment of friday", Intent.CANCEL),
        ("my appointment on monday is confirm or no", Intent.APPOINTMENT_STATUS),
        ("what hour you close on friday", Intent.CLINIC_INFO),
        ("you do the blood test there", Intent.CLINIC_INFO),
        ("do i need an appointment for the flu shot", Intent.CLINIC_INFO),
        ("can i come at 3 instead of 11", Intent.RESCHEDULE),
    ],
)
def test_requests_in_a_second_language(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


@pytest.mark.parametrize(
    ("said", "provider"),
    [
        ("can my daughter see doctor grace on friday", "okafor"),
        ("i'd like dr ravi for the rash", "patel"),
        ("my friend grace said you're good", None),  # no title: no provider
    ],
)
def test_a_provider_called_by_first_name(said: str, provider: str | None) -> None:
    assert demo_vocabulary().provider(normal(said)) == provider


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("my mother luz maria de la cruz needs a checkup", ("Luz Maria", "De La Cruz")),
        ("this is jose luis ortega calling about my results", ("Jose Luis", "Ortega")),
        ("I'd like Tuesday with Dr. Amanda Lee, please.", None),  # the doctor is no patient
    ],
)
def test_middle_names_particles_and_titles(said: str, name: tuple[str, str] | None) -> None:
    found = introduced_name(said)
    assert (found.pair() if found else None) == name


NOW = datetime(2027, 5, 12, 9, 10, tzinfo=ZoneInfo("America/New_York"))  # a Wednesday


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("tomorrow at 9 and half", date(2027, 5, 13), time(9, 30)),
        ("friday at 11 and quarter", date(2027, 5, 14), time(11, 15)),
        ("at 3 less quarter", None, time(14, 45)),
        ("at 10 and 45 is good", None, time(10, 45)),
        ("the day 20, at 9", date(2027, 5, 20), time(9, 0)),
        ("i want the 3 of june", date(2027, 6, 3), None),
        ("monday 24", date(2027, 5, 24), None),
        ("is possible after tomorrow", date(2027, 5, 14), None),
        ("manana por favor", date(2027, 5, 13), None),
        ("the 20 at 9 in the morning, is thursday, yes?", date(2027, 5, 20), time(9, 0)),
        ("my appointment is today, i want friday instead", date(2027, 5, 14), None),
        ("instead of the physical on the 18, i want to make it the 25", date(2027, 5, 25), None),
        ("is it on monday at 2 or 2 30", date(2027, 5, 17), None),
    ],
)
def test_days_and_times_in_a_second_language(said: str, day: date | None, at: time | None) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (day, at)


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("born 24 6 1971", date(1971, 6, 24)),
        ("one nine six five, march the 2", date(1965, 3, 2)),
        ("year 1958, month 11, day 9", date(1958, 11, 9)),
        ("my birthday, 7 july, 1 9 8 8", date(1988, 7, 7)),
    ],
)
def test_birth_dates_in_a_second_language(said: str, born: date) -> None:
    assert birth_date(said, NOW.date()) == born


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("my name is pham thu ha, pham is the family name", ("Thu Ha", "Pham")),
        ("kowalski, k o w a l s k i, first name jan", ("Jan", "Kowalski")),
        ("his name bao, family name tran", ("Bao", "Tran")),
    ],
)
def test_names_with_the_family_name_said(said: str, name: tuple[str, str]) -> None:
    assert heard_in_answer(said) == name


def test_greetings_and_conditions_are_no_names() -> None:
    assert introduced_name("buenos dias, i need a checkup") is None
    assert introduced_name("refill of my medicine for thyroid, levothyroxine") is None


@pytest.mark.parametrize(
    "said",
    [
        "my son is two and a half and has had a fever for 3 days",
        "she is 4 and a half, she needs a checkup",
        "i take 1 and a half tablets at night",
        "the day 2 of my antibiotics i got a rash",
    ],
)
def test_ages_and_amounts_are_no_clock_times(said: str) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (None, None)


def test_a_weekday_before_a_count_of_hours_is_that_weekday() -> None:
    assert when_wanted("i work monday 20 hours a week", NOW, None).day == date(2027, 5, 17)


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("the other day i called and nobody answered, i need a refill on my inhaler",
         Intent.REFILL),
        ("can you put me down for tuesday at 3", Intent.BOOK),
        ("could you put my son in for friday morning", Intent.BOOK),
        ("what day did you put me down for", Intent.APPOINTMENT_STATUS),
    ],
)  # fmt: skip
def test_the_second_language_rows_leave_plain_requests_alone(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


def test_waking_up_early_is_neither_a_danger_nor_a_goodbye() -> None:
    said = read("i can't wake up early for an 8 am, can i get something later").intent
    assert said not in (Intent.EMERGENCY, Intent.GOODBYE)


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("do you have anything after tomorrow", None),  # a limit, no day
        ("any time after friday works", None),
        ("after tomorrow, is possible?", date(2027, 5, 14)),  # the day after tomorrow
        ("we come after tomorrow", date(2027, 5, 14)),
    ],
)
def test_after_tomorrow_as_a_limit_and_as_a_day(said: str, day: date | None) -> None:
    assert when_wanted(said, NOW, None).day == day


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("do you have thursday the 2 o'clock", date(2027, 5, 13), time(14, 0)),
        ("tuesday the 10 30 one please", date(2027, 5, 18), time(10, 30)),
        ("monday the 24", date(2027, 5, 24), None),
    ],
)
def test_a_weekday_before_the_hour_is_still_that_weekday(
    said: str, day: date, at: time | None
) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (day, at)


def test_a_month_said_to_be_the_last_is_no_last_name() -> None:
    assert heard_name("june is the last month i can do") is None
    assert heard_name("okafor is the family name") == HeardName(None, "Okafor")

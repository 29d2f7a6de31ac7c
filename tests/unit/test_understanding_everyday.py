"""An ordinary day's calls and parents' calls (concepts from the unseen first runs of
lines_dev14 and lines_dev15), read by the rules and parsers alone. New phrasings, not
the tuning lines. 67 of the 87 cases failed before; the guards (marked) are what a new
rule must leave alone, and a few phrasings the earlier rules already read stay as
checks on the new ones."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.birth import birth_date
from appliance.workflows.intents import read
from appliance.workflows.names import HeardName, heard_name
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.names_spelling import join_spelled
from appliance.workflows.when import when_wanted
from appliance.workflows.wording import normal
from tests.understanding_eval import demo_vocabulary

pytestmark = pytest.mark.unit

NOW = datetime(2027, 3, 10, 11, 40, tzinfo=ZoneInfo("America/New_York"))  # a Wednesday


@pytest.mark.parametrize(
    "said",
    [
        "i honestly don't even want to be alive, i keep thinking about ending it",
        "i've been thinking of taking my own life",
        "he sliced his thumb and it's bleeding through the dish towel",
        "my toddler got into grandma's pills and i don't know how many she swallowed",
    ],
)
def test_dangers_said_plainly(said: str) -> None:
    assert read(said).intent == Intent.EMERGENCY


def test_a_word_inside_another_is_no_danger() -> None:
    """ "send it" holds "end it": a refill to send is no wish to die (guard: the wish
    itself)."""
    assert read("he ran out of his lisinopril, can you send it to walgreens").intent == (
        Intent.REFILL
    )
    assert read("i just want to end it all").intent == Intent.EMERGENCY


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("can you see whether my husband has anything booked next week", Intent.APPOINTMENT_STATUS),
        ("i can't remember which day the lady gave me", Intent.APPOINTMENT_STATUS),
        ("when's my wife's next physical", Intent.APPOINTMENT_STATUS),
        ("do i have a follow up coming up with doctor patel", Intent.APPOINTMENT_STATUS),
        ("is the checkup for my son on thursday or friday", Intent.APPOINTMENT_STATUS),
        ("please take my wife off the calendar for tuesday", Intent.CANCEL),
        ("we're not gonna make it to the 3 o'clock", Intent.CANCEL),
        ("she won't be able to make her physical, she's in the hospital", Intent.CANCEL),
        ("can't make the 9 on friday, is there anything later", Intent.RESCHEDULE),
        ("his checkup is on the 20th but could we do the 22nd", Intent.RESCHEDULE),
        ("i was going to cancel but maybe move it to next month", Intent.RESCHEDULE),
        ("could you bump her physical back to the afternoon", Intent.RESCHEDULE),
        ("can i book a phone visit with doctor li", Intent.BOOK),
        ("do you have any saturday openings for a flu shot", Intent.BOOK),
        ("could you fit my daughter in today", Intent.BOOK),
        ("thanks so much, you too", Intent.GOODBYE),
        # guards: a rejected offer is an answer, not a new change; a caller's own
        # schedule fits nothing; a change stays a change
        ("no, that one doesn't work for me", Intent.OTHER),
        ("her hours fit my schedule better", Intent.CLINIC_INFO),
        ("i'm not gonna make it on friday, can we do monday instead", Intent.RESCHEDULE),
    ],
)
def test_everyday_requests(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


@pytest.mark.parametrize(
    ("said", "first", "last"),
    [
        # the patient the call is for, not the caller
        (
            "hi it's dana price, calling for my daughter lily price, she has a fever",
            "Lily",
            "Price",
        ),
        ("my name is tom ortiz, i'm calling for my wife, ana ortiz", "Ana", "Ortiz"),
        ("my youngest jamal reed needs his shots", "Jamal", "Reed"),
        ("it's my son, he's marcus webb, he hurt his wrist", "Marcus", "Webb"),
        ("i need a physical for my father john paul doyle", "John Paul", "Doyle"),
        ("please move maya singh, she can't come tuesday", "Maya", "Singh"),
        ("can you check whether peter lang has a checkup soon", "Peter", "Lang"),
    ],
)
def test_the_patient_named_in_a_request(said: str, first: str, last: str) -> None:
    assert introduced_name(said) == HeardName(first, last)


def test_the_callers_own_name_is_not_the_patients() -> None:
    """Only the caller's name, in a call for a child: no patient name (guards: the same
    words for the caller's own visit, and a parent's name said for the patient)."""
    assert introduced_name("hi this is rosa diaz, i'm calling for my little girl") is None
    own = introduced_name("hi this is rosa diaz, i'm calling about my appointment")
    assert own is not None and own.pair() == ("Rosa", "Diaz")
    named = introduced_name("i'm calling for my mother, her name is june park")
    assert named is not None and named.pair() == ("June", "Park")


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("oct 14 1988", date(1988, 10, 14)),
        ("sept 3 61", date(1961, 9, 3)),
        ("she was born on new year's day 2020", date(2020, 1, 1)),
        ("march 3rd and the year was 1990", date(1990, 3, 3)),
        ("he was born january the 9th this year", date(2027, 1, 9)),
    ],
)
def test_birth_dates_said_in_short(said: str, born: date) -> None:
    assert birth_date(said, NOW.date()) == born


def test_a_short_month_is_no_name_and_a_birth_year_no_time() -> None:
    assert heard_name("feb 20 1970") is None
    assert when_wanted("he's 6, born in twenty twenty", NOW, None).at is None
    named = heard_name("mensah-bonsu, with a dash")
    assert named is not None and named.first == "Mensah-Bonsu" and named.last is None


@pytest.mark.parametrize(
    ("said", "day", "part"),
    [
        # a day or part of day ruled out, a habit, a time to call back: none is wanted
        ("whatever day you have except friday", None, None),
        ("thursdays are better for my husband", None, None),
        ("he can do the 17th but not in the afternoon", date(2027, 3, 17), None),
        ("the pharmacist said to call in the morning about it", None, None),
        # a correction with "sorry" between, an hour corrected bare
        ("monday, no sorry, tuesday", date(2027, 3, 16), None),
    ],
)
def test_days_ruled_out_or_corrected(said: str, day: date | None, part: str | None) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.part_of_day) == (day, part)


def test_an_hour_corrected_bare_is_the_hour_meant() -> None:
    assert when_wanted("not at 4, i meant 2", NOW, None).at == time(14)


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("alright, see you on monday then", Intent.GOODBYE),
        ("i think we're all good, thank you", Intent.GOODBYE),
    ],
)
def test_goodbyes_of_an_ordinary_call(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("could we push the 17th out a week", date(2027, 3, 24)),
        ("the 17th, but back a week or so", date(2027, 3, 17)),  # guard: about then
        ("i had to cancel but could we just do a week from friday instead", date(2027, 3, 19)),
        ("move her to a friday afternoon if you can", None),
        ("is it this monday or next monday", None),
        ("the 20th? is that a saturday", date(2027, 3, 20)),
    ],
)
def test_days_moved_indefinite_or_checked(said: str, day: date | None) -> None:
    assert when_wanted(said, NOW, None).day == day


def test_the_provider_moved_to_or_ruled_out() -> None:
    vocabulary = demo_vocabulary()
    assert (
        vocabulary.provider(normal("switch his checkup from doctor patel to doctor lee")) == "lee"
    )
    assert vocabulary.provider(normal("not doctor okafor, someone else please")) is None
    assert introduced_name("hey quick question, when do you open") is None


@pytest.mark.parametrize(
    ("said", "provider"),
    [
        # a near miss of a doctor's name right after "appointment with", and a first name
        # after a title as Whisper spells it
        ("i have an appointment with alvares on monday", "alvarez"),
        ("can i get a checkup with okefor", "okafor"),
        ("can i see doctor sophia", "alvarez"),
        ("i have an appointment with maria on monday", None),  # guard: a person, no doctor
    ],
)
def test_a_doctor_misspelled_after_with(said: str, provider: str | None) -> None:
    assert demo_vocabulary().provider(normal(said)) == provider


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("okay cool, see ya", Intent.GOODBYE),
        ("thanks, happy new year", Intent.GOODBYE),
        ("whoever's free", Intent.INFORM),
        ("11 works fine", Intent.INFORM),
        ("my physical is at 10 but i won't make it, do you have anything at 1", Intent.RESCHEDULE),
        (
            "i was supposed to come in today but my car died, is there another day",
            Intent.RESCHEDULE,
        ),
        ("i booked a checkup for 9 but we need to come later", Intent.RESCHEDULE),
        ("does she need to not eat before her labs", Intent.CLINIC_INFO),
        ("is there anything we should bring to the first visit", Intent.CLINIC_INFO),
        ("can i pay what i owe over the phone", Intent.BILLING),
        ("i need to update my insurance, it changed", Intent.BILLING),
        ("what's the weather going to be tomorrow", Intent.OTHER),
        ("she had chest pains last weekend, can the doctor check her over", Intent.BOOK),
    ],
)
def test_more_everyday_requests(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("we need it done before we leave on the 22nd", None, None),
        ("a physical before the 3rd please", None, None),
        ("my last appointment was on monday, i need a follow up", None, None),
        ("on second thought the 3:30", None, time(15, 30)),
        ("could it be later, like 4:15", None, time(16, 15)),
        ("3 works", None, time(15)),
        ("sometime between thanksgiving and christmas", None, None),
        ("march 22nd or 23rd", None, None),
        ("my son gets out at 3", None, None),
        # "the following tuesday" after a day said before it
        ("i have one on the 17th, can we do the following tuesday", date(2027, 3, 23), None),
    ],
)
def test_limits_past_days_and_picks(said: str, day: date | None, at: time | None) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (day, at)


def test_a_limit_in_the_morning_is_no_part_of_day() -> None:
    got = when_wanted("thursday, but after 9 in the morning", NOW, None)
    assert (got.part_of_day, got.from_time) == (None, time(9))


@pytest.mark.parametrize(
    ("said", "first", "last"),
    [
        ("mcallister with a capital m", "McAllister", None),
        ("joanna price, spelled the usual way", "Joanna", "Price"),
        ("james kirk but everyone calls me jim", "James", "Kirk"),
        ("moretti, m o r e t t i, it's italian", "Moretti", None),
    ],
)
def test_notes_said_around_a_name(said: str, first: str, last: str | None) -> None:
    named = heard_name(said)
    assert named is not None and (named.first, named.last) == (first, last)


def test_a_spelling_stops_before_the_next_words() -> None:
    """ "i" and "a" after a spelling start the caller's next words ("s i o b h a n, i need")."""
    assert join_spelled("w a n g, i need a checkup") == "wang, i need a checkup"
    assert join_spelled("k i m, a checkup please") == "kim, a checkup please"


def test_a_short_name_then_the_whole_one_and_a_corrected_birth_year() -> None:
    named = introduced_name("i need a checkup for my son alex, alexander cho, he's 9")
    assert named is not None and named.pair() == ("Alexander", "Cho")
    named = introduced_name("can you cancel lena park's check up on friday")
    assert named is not None and named.pair() == ("Lena", "Park")
    assert birth_date("1958 not 1985, june 2nd 1958", NOW.date()) == date(1958, 6, 2)

"""Requests said without the usual words and dangers said in a caller's own way (concepts
from the unseen first runs of lines_dev10 and lines_dev11), read by the rules alone; and a
visit named with its day or doctor but no request word, a booking only below the engine's
CLEAR. New phrasings, not the tuning lines; each case failed before."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.engine import CLEAR
from appliance.workflows.intents import read
from appliance.workflows.understander import Understander
from tests.understanding_eval import demo_vocabulary

pytestmark = pytest.mark.unit

NOW = datetime(2027, 5, 12, 9, 10, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    "said",
    [
        "his chest is really tight and he's gone grey",
        "my right arm's going numb and i feel sick",
        "she cut her hand on a knife and the bleeding won't stop",
        "my lips and tongue are swelling after that bee sting",
        "grandpa isn't answering me and he's breathing all wrong",
        "he's slumped over the table",
        "my son took a handful of his mom's tablets",
        "i've got the tablets lined up on the counter",
        "he fell off the ladder and hit the concrete",
    ],
)
def test_dangers_said_in_a_callers_own_way(said: str) -> None:
    assert read(said).intent == Intent.EMERGENCY


@pytest.mark.parametrize(
    "said",
    [
        "my hearing aid keeps whistling",  # a whistle that is not breath
        "she's not answering her phone, can you leave a message",
        "my boss won't answer my texts about the time off",
    ],
)
def test_not_dangers(said: str) -> None:
    assert read(said).intent != Intent.EMERGENCY


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("can doctor okafor see my grandson friday", Intent.BOOK),
        ("i'd like to bring my wife in for her blood pressure", Intent.BOOK),
        ("could you set him up with someone next week", Intent.BOOK),
        ("could you move me to a wednesday", Intent.RESCHEDULE),
        ("the checkup has to be moved, the car's broken", Intent.RESCHEDULE),
        ("can i have a different day please, the 9th is no good", Intent.RESCHEDULE),
        ("please cross her off for thursday", Intent.CANCEL),
        ("he won't make tuesday, he's in the hospital", Intent.CANCEL),
        ("what time's her appointment on monday", Intent.APPOINTMENT_STATUS),
        ("have you got us down for the 20th", Intent.APPOINTMENT_STATUS),
        ("is there anywhere to sit and wait inside", Intent.CLINIC_INFO),
        ("do the doctors still see babies", Intent.CLINIC_INFO),
        ("can you get his inhaler topped up", Intent.REFILL),
        ("why was i charged twice for one visit", Intent.BILLING),
        ("has anyone looked at my ultrasound", Intent.TEST_RESULTS),
        ("i'd like a word with the practice manager", Intent.SPEAK_TO_PERSON),
        ("got to run, bye", Intent.GOODBYE),
        ("is this the library", Intent.OTHER),
        ("sorry i rang you by mistake", Intent.OTHER),
    ],
)
def test_requests_said_without_the_usual_words(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("we just moved from texas, are you taking new patients", Intent.CLINIC_INFO),
        ("i switched to aetna in march, is my bill right", Intent.BILLING),
        ("do you have anything friday with doctor lee", Intent.BOOK),
        ("do i need an appointment for a flu shot", Intent.CLINIC_INFO),
    ],
)
def test_the_new_words_leave_other_requests_alone(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


async def test_a_visit_named_with_its_day_is_a_booking_below_clear() -> None:
    u = Understander(None, "never")
    u.vocabulary = demo_vocabulary()
    got = await u.understand("a physical with doctor lee on thursday", NOW)
    assert got.intent == Intent.BOOK and got.confidence < CLEAR
    alone = await u.understand("it's for a physical", NOW)  # no day and no doctor: an answer
    assert alone.intent == Intent.INFORM


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("sure, book it", Intent.INFORM),  # a yes to "shall I book it?"
        ("book it for friday please", Intent.BOOK),
        ("she was born in 41", Intent.INFORM),
        ("can i do a phone follow up on thursday", Intent.BOOK),
        ("i'll take the first available appointment", Intent.BOOK),
        ("could somebody still see him this afternoon", Intent.BOOK),
    ],
)
def test_answers_and_bookings_said_briefly(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


async def test_a_birth_date_given_is_an_answer_not_a_clinic_question() -> None:
    u = Understander(None, "never")
    u.vocabulary = demo_vocabulary()
    asked = await u.understand("does medicare cover my physical?", NOW)
    assert asked.intent == Intent.CLINIC_INFO
    given = await u.understand("the card says 3/14/1950, the medicare one", NOW)
    assert given.intent == Intent.INFORM and str(given.said.dob) == "1950-03-14"
    fiscal = await u.understand("need a fiscal next week", NOW)  # Whisper's "physical"
    assert fiscal.said.appointment_type == "physical"

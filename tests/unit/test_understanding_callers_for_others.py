"""Concepts read from the later tuning files (dev6, dev7): the patient's name when someone
else calls (an aide who gives her own first name first, a name set off by commas, "the
other john smith", a name read last name first), a place's name that is no person's,
deadlines, limits and questions about hours that name no day or time, a new time said with
"like", and a cancellation policy asked with "got to". Each case failed before."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.intents import read
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.verify import heard_in_answer
from appliance.workflows.when import when_wanted

pytestmark = pytest.mark.unit

NOW = datetime(2027, 5, 12, 9, 10, tzinfo=ZoneInfo("America/New_York"))  # a Wednesday


@pytest.mark.parametrize(
    ("said", "name"),
    [
        # the caller's own first name, then the patient's whole name: the patient
        ("hello, this is gloria, i look after luis ortega, he needs a checkup", None),
        ("this is gloria calling for luis ortega, he needs a checkup", ("Luis", "Ortega")),
        (
            "hi it's marcus from sunrise home care, our resident thanh nguyen needs a visit",
            ("Thanh", "Nguyen"),
        ),
        # the surname said with a title, then the whole name set off by commas
        (
            "i'm calling about mrs zhang's checkup, emily zhang, she's got a cold",
            ("Emily", "Zhang"),
        ),
        ("the man in bed four, luis ortega, he can't come thursday", ("Luis", "Ortega")),
        # last name first, then a full stop, as a form is read out
        ("ortega, luis. i need my blood pressure checked", ("Luis", "Ortega")),
        # a place's name is no person's
        ("hi this is lakeside family practice calling about a referral", None),
        ("yes this is northgate urgent care, we sent over some labs", None),
    ],
)
def test_the_patients_name_when_someone_else_calls(said: str, name: tuple[str, str] | None) -> None:
    found = introduced_name(said)
    assert (found.pair() if found else None) == name


def test_the_other_one_of_two_patients_with_one_name() -> None:
    assert heard_in_answer("no no, the other maria gonzalez, she was born in 82") == (
        "Maria",
        "Gonzalez",
    )


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("my work needs the form signed by friday, can i come in", None, None),
        ("they want the physical done by the 20th", None, None),
        ("can you stop by friday", date(2027, 5, 14), None),  # a visit, not a deadline
        ("mornings are out, i'm at work until noon", None, None),
        ("are you doing saturday hours this month", None, None),
        ("my back has hurt since monday, can i come in thursday", date(2027, 5, 13), None),
        ("i need a checkup before my operation on the 28th", None, None),
        ("could we move my 9:15 friday to like 11", date(2027, 5, 14), time(11, 0)),
        ("change the 2 o'clock to around 4 please", None, time(16, 0)),
    ],
)
def test_deadlines_limits_and_new_times(said: str, day: date | None, at: time | None) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (day, at)


def test_the_cancellation_policy_asked_with_got_to() -> None:
    assert read("how much warning do you need if i gotta cancel").intent == Intent.CLINIC_INFO

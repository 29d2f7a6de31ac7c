"""The day and time a caller wants when a change names the old one first."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.workflows.when import when_wanted

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # a Monday


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        # the last change word ("instead") ends the sentence: the one before it counts
        ("we had one at 4 today, is it possible to come at 2 instead", date(2026, 12, 7), time(14)),
        (
            "I was supposed to come in tomorrow at 3, but could we make it the same time on"
            " Thursday instead?",
            date(2026, 12, 10),
            time(15),
        ),
        ("can you move my thursday one to friday the eighteenth", date(2026, 12, 18), None),
        ("tuesday doesn't work, can i have wednesday instead", date(2026, 12, 9), None),
        ("from wednesday to thursday please", date(2026, 12, 10), None),
        # a correction: the day meant last
        ("can i come in tuesday no wait wednesday afternoon", date(2026, 12, 9), None),
        ("i booked for saturday i meant sunday no actually monday", date(2026, 12, 14), None),
        # "to" before a time, or a date as digits
        ("can we move my tuesday to half past 10 wednesday", date(2026, 12, 9), time(10, 30)),
        ("my appointment is on 12/15 and i need it moved to 12/17", date(2026, 12, 17), None),
    ],
)
def test_the_new_day_and_time_of_a_change(text: str, day: date, at: time | None) -> None:
    got = when_wanted(text, NOW, None)
    assert (got.day, got.at) == (day, at)


def test_the_numbers_of_a_birth_date_are_not_a_time() -> None:
    """ "8 19 88" is August 19, 1988, not 8:19; the same numbers without a birth date
    are a time."""
    assert when_wanted("8 19 88", NOW, date(1988, 8, 19)).at is None
    assert when_wanted("8 19", NOW, None).at == time(8, 19)


def test_the_week_of_a_date_is_a_range() -> None:
    assert when_wanted("sometime the week of the 21st", NOW, None).day is None


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        # the new day said before a closing "instead", its time or part of day after it
        (
            "my visit on the 9th is no good now, could we do the 15th instead at 11",
            date(2026, 12, 15),
            time(11),
        ),
        (
            "i have the 8th with doctor lee, can we make it the 10th instead, around half past two",
            date(2026, 12, 10),
            time(14, 30),
        ),
        # the new time said right before "instead"
        ("could you turn my 9:15 on tuesday into a 3:45 instead", date(2026, 12, 8), time(15, 45)),
        # "i want at ..." and "you can give me ..." name the new time
        ("it's at 11 now, i want at 3", None, time(15)),
        ("i can't do the 9 o'clock, you can give me later, at 1 and half", None, time(13, 30)),
        # a range after the change: no time of the old one and no day
        ("i'm booked tomorrow at 10, could we push it to sometime next week", None, None),
    ],
)
def test_the_new_value_around_a_closing_instead(
    text: str, day: date | None, at: time | None
) -> None:
    got = when_wanted(text, NOW, None)
    assert (got.day, got.at) == (day, at)

"""Spoken dates and times resolve deterministically in the clinic's time zone."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.scheduling.dates import resolve, resolve_day, resolve_time

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("today", date(2026, 11, 24)),
        ("tomorrow", date(2026, 11, 25)),
        ("the day after tomorrow", date(2026, 11, 26)),
        ("Friday", date(2026, 11, 27)),
        ("this Friday", date(2026, 11, 27)),
        ("next Tuesday", date(2026, 12, 1)),
        ("Tuesday", date(2026, 12, 1)),
        ("Monday", date(2026, 11, 30)),
        ("in two days", date(2026, 11, 26)),
        ("in 3 weeks", date(2026, 12, 15)),
        ("December 3rd", date(2026, 12, 3)),
        ("the third of December", date(2026, 12, 3)),
        ("January 5", date(2027, 1, 5)),
        ("November 20", date(2027, 11, 20)),
        ("the 28th", date(2026, 11, 28)),
        ("on the 4th", date(2026, 12, 4)),
        ("the fourth at half past ten", date(2026, 12, 4)),
        ("next week", date(2026, 11, 30)),
        ("February 30", None),
        ("whenever suits you", None),
    ],
)
def test_days(spoken: str, expected: date | None) -> None:
    assert resolve_day(spoken, TODAY) == expected


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("at 3 pm", time(15, 0)),
        ("3:30", time(15, 30)),
        ("9:15 am", time(9, 15)),
        ("10:30", time(10, 30)),
        ("Thursday at 2", time(14, 0)),
        ("at nine", time(9, 0)),
        ("half past ten", time(10, 30)),
        ("quarter to three", time(14, 45)),
        ("quarter past eleven", time(11, 15)),
        ("at two thirty", time(14, 30)),
        ("noon", time(12, 0)),
        ("12 am", time(0, 0)),
        ("11 o'clock", time(11, 0)),
        ("the 4th", None),
        ("sometime", None),
    ],
)
def test_times(spoken: str, expected: time | None) -> None:
    assert resolve_time(spoken) == expected


def test_part_of_day_and_combined() -> None:
    r = resolve("Friday morning", NOW)
    assert (r.day, r.at, r.part_of_day) == (date(2026, 11, 27), None, "morning")
    r = resolve("next Tuesday at half past two", NOW)
    assert (r.day, r.at) == (date(2026, 12, 1), time(14, 30))

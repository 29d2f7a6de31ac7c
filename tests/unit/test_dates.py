"""Spoken dates and times resolve deterministically in the clinic's time zone."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.scheduling.dates import Resolved, resolve, resolve_after, resolve_day, resolve_time

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
        ("next week", None),  # a range, not its Monday: Resolved.after
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


# --- as Whisper writes them: lowercase, words or digits, fillers --------------------


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("the twelfth", date(2026, 12, 12)),
        ("uh the twelfth please", date(2026, 12, 12)),
        ("december twelfth", date(2026, 12, 12)),
        ("december the twelfth", date(2026, 12, 12)),
        ("the twelfth of december", date(2026, 12, 12)),
        ("on the 15th", date(2026, 12, 15)),
        ("on the fifteenth", date(2026, 12, 15)),
        ("the thirty first", date(2026, 12, 31)),
        ("the twenty-first", date(2026, 12, 21)),
        ("january twenty first", date(2027, 1, 21)),
        ("tomorrow afternoon", date(2026, 11, 25)),
        ("a week from tuesday", date(2026, 12, 8)),
        ("a week from friday", date(2026, 12, 4)),
        ("two weeks from today", date(2026, 12, 8)),
        ("a week from tomorrow", date(2026, 12, 2)),
        ("in a week", date(2026, 12, 1)),
        ("in ten days", date(2026, 12, 4)),
        ("this friday", date(2026, 11, 27)),
        ("this coming friday", date(2026, 11, 27)),
        ("friday next week", date(2026, 12, 4)),
        ("monday or tuesday", date(2026, 11, 30)),
        ("tuesday or monday", date(2026, 12, 1)),
        ("either december third or the fourth of december", date(2026, 12, 3)),
        ("may i come in on wednesday", date(2026, 11, 25)),
        ("the 10:30", None),  # an hour, not the 10th
        ("the ten thirty", None),
    ],
)
def test_days_as_whisper_writes_them(spoken: str, expected: date | None) -> None:
    assert resolve_day(spoken, TODAY) == expected


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("ten thirty", time(10, 30)),
        ("at ten thirty", time(10, 30)),
        ("ten oh five", time(10, 5)),
        ("half past two", time(14, 30)),
        ("quarter to three", time(14, 45)),
        ("quarter after nine", time(9, 15)),
        ("two thirty p m", time(14, 30)),
        ("two thirty p.m.", time(14, 30)),
        ("nine a m", time(9, 0)),
        ("eleven o'clock", time(11, 0)),
        ("at noon", time(12, 0)),
        ("around four", time(16, 0)),
        ("at seven in the evening", time(19, 0)),
        ("at six in the morning", time(6, 0)),
        ("at three pm", time(15, 0)),
        ("december twelfth at ten", time(10, 0)),
        ("december 12 10 30", time(10, 30)),  # the 12 is a day, not a time
        ("the twelfth", None),
        ("in a month", None),
        ("in 2 weeks", None),
        ("a week from tuesday", None),
        ("at 25", None),
        ("the 10:30", time(10, 30)),  # choosing an offered slot
        ("the ten thirty please", time(10, 30)),
        ("the two pm one", time(14, 0)),
        ("the 12", None),
        ("like four ish", time(16, 0)),  # "-ish" marks a time as "o'clock" does
        ("10ish in the morning", time(10, 0)),
        ("forty ish", None),
    ],
)
def test_times_as_whisper_writes_them(spoken: str, expected: time | None) -> None:
    assert resolve_time(spoken) == expected


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("next week", Resolved(None, None, None, date(2026, 11, 30))),
        ("sometime next week in the morning", Resolved(None, None, "morning", date(2026, 11, 30))),
        ("the week after next", Resolved(None, None, None, date(2026, 12, 7))),
        ("next month", Resolved(None, None, None, date(2026, 12, 1))),
        ("tuesday next week", Resolved(date(2026, 12, 1), None, None, None)),
        ("tomorrow afternoon", Resolved(date(2026, 11, 25), None, "afternoon", None)),
        ("december twelfth at ten thirty", Resolved(date(2026, 12, 12), time(10, 30), None)),
        ("uh monday or tuesday at two", Resolved(date(2026, 11, 30), time(14, 0), None)),
        ("whenever", Resolved(None, None, None, None)),
    ],
)
def test_resolve_as_whisper_writes_it(spoken: str, expected: Resolved) -> None:
    assert resolve(spoken, NOW) == expected


def test_next_month_in_december_is_january() -> None:
    assert resolve_after("next month", date(2026, 12, 10)) == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("friday the eighteenth", date(2026, 12, 18)),  # the date, not the coming Friday
        ("monday the 30th", date(2026, 11, 30)),
        ("friday", date(2026, 11, 27)),
    ],
)
def test_a_weekday_with_its_date_is_that_date(spoken: str, expected: date) -> None:
    assert resolve_day(spoken, TODAY) == expected


@pytest.mark.parametrize(
    ("spoken", "part"),
    [
        ("friday after lunch", "afternoon"),
        ("sometime before lunch", "morning"),
        ("is it in the morning or afternoon?", None),  # a question, not a wish
        ("morning or the afternoon, which is it", None),
        ("in the morning, not too early", "morning"),
    ],
)
def test_part_of_day_from_lunch_and_alternatives(spoken: str, part: str | None) -> None:
    assert resolve(spoken, NOW).part_of_day == part


@pytest.mark.parametrize(
    ("spoken", "day", "at"),
    [
        ("do you have anything 4/29 around 10", date(2027, 4, 29), time(10)),
        ("the 12/3 appointment", date(2026, 12, 3), None),
        ("next tues morning", date(2026, 12, 1), None),
        ("thurs at 2", date(2026, 11, 26), time(14)),
        ("noonish on friday", date(2026, 11, 27), time(12)),
        ("calling about one of your patients", None, None),  # "one of" is no hour
        ("born 3/14/52", None, None),  # a birth date's digits are not a day
    ],
)
def test_digit_dates_short_weekdays_and_noonish(
    spoken: str, day: date | None, at: time | None
) -> None:
    got = resolve(spoken, NOW)
    assert (got.day, got.at) == (day, at)

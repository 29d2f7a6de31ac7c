"""A date of birth as Whisper writes it (lowercase, digits or words, fillers) is read in
code; impossible or future dates are none."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.workflows.identity import birth_date, without_birth_date

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 24)
APRIL_4_1982 = date(1982, 4, 4)


@pytest.mark.parametrize(
    "said",
    [
        "april fourth nineteen eighty two",
        "April 4th, 1982.",
        "april 4 1982",
        "the fourth of april nineteen eighty two",
        "fourth of april 1982",
        "4 april 1982",
        "four four nineteen eighty two",
        "four four eighty two",
        "04/04/82",
        "4/4/82",
        "oh four oh four eighty two",
        "4-4-1982",
        "04.04.1982",
        "april 4th 82",
        "april the fourth nineteen eighty two",
        "april fourth of eighty two",
        "uh april uh fourth nineteen eighty two",
        "yes this is maria gonzalez april fourth nineteen eighty two",
        "my date of birth is 4/4/1982 thanks",
        "1982-04-04",
        "born on april fourth, one thousand nine hundred eighty two",
    ],
)
def test_april_fourth_1982(said: str) -> None:
    assert birth_date(said, TODAY) == APRIL_4_1982


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("december twelfth two thousand and five", date(2005, 12, 12)),
        ("twelve twelve oh five", date(2005, 12, 12)),
        ("january first twenty twenty", date(2020, 1, 1)),
        ("one one twenty", date(2020, 1, 1)),  # 2020, not 1920: the latest past year
        ("november twenty fourth twenty six", date(2026, 11, 24)),  # today
        ("november twenty fifth twenty six", date(1926, 11, 25)),  # not tomorrow
        ("december 1 26", date(1926, 12, 1)),
        ("thirty first of december nineteen ninety nine", date(1999, 12, 31)),
        ("february twenty ninth two thousand", date(2000, 2, 29)),
        ("september thirtieth nineteen seventy five", date(1975, 9, 30)),
        ("12 19 82", date(1982, 12, 19)),
        ("1 12 1982", date(1982, 1, 12)),
    ],
)
def test_years_and_days(said: str, expected: date) -> None:
    assert birth_date(said, TODAY) == expected


@pytest.mark.parametrize(
    "said",
    [
        "february thirtieth nineteen eighty two",
        "february twenty ninth nineteen eighty one",
        "thirteen four eighty two",  # no month 13
        "april thirty first 1982",
        "march 3rd 2030",  # in the future
        "june 1 1850",
        "april fourth",  # no year
        "maria gonzalez",
        "i want to book an appointment",
        "at ten thirty tomorrow",
        "",
    ],
)
def test_no_birth_date(said: str) -> None:
    assert birth_date(said, TODAY) is None


def test_today_defaults_to_the_system_date() -> None:
    assert birth_date("april fourth nineteen eighty two") == APRIL_4_1982
    assert birth_date("march 3rd 2999") is None


@pytest.mark.parametrize(
    ("said", "left"),
    [
        ("maria gonzalez april fourth nineteen eighty two and friday", "maria gonzalez and friday"),
        ("born 04/04/82, next tuesday at ten thirty", "born next tuesday at 10 30"),
        ("december twelfth at ten thirty", "december 12th at 10 30"),
        ("december 12 10 30", "december 12 10 30"),  # a day and a time, not a 2010 birth
        ("four four nineteen eighty two", ""),
        ("Friday", "friday"),
    ],
)
def test_without_birth_date(said: str, left: str) -> None:
    assert without_birth_date(said) == left

"""Number words as Whisper writes them become digits, in code."""

from __future__ import annotations

import pytest

from appliance.scheduling.spoken import normalize, number, numerize, suffixed

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("nineteen eighty two", 1982),
        ("nineteen eighty-two", 1982),
        ("Nineteen eighty two.", 1982),
        ("two thousand and five", 2005),
        ("two thousand five", 2005),
        ("two thousand twenty six", 2026),
        ("twenty twenty six", 2026),
        ("twenty oh four", 2004),
        ("nineteen oh five", 1905),
        ("nineteen hundred", 1900),
        ("nineteen hundred and five", 1905),
        ("one thousand nine hundred eighty two", 1982),
        ("oh four", 4),
        ("fourth", 4),
        ("twenty-first", 21),
        ("twenty first", 21),
        ("thirty first", 31),
        ("the", None),
        ("twelve", 12),
        ("twelfth", 12),
        ("eleventh", 11),
        ("forty five", 45),
        ("zero", 0),
        ("uh nineteen uh eighty two", 1982),
        ("82", 82),
        ("4th", 4),
        ("four four", None),
        ("nineteen five", None),
        ("maria", None),
        ("", None),
    ],
)
def test_number(said: str, expected: int | None) -> None:
    assert number(said) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("april fourth nineteen eighty two", "april 4th 19 82"),
        ("four four eighty two", "4 4 82"),
        ("oh four oh four eighty two", "04 04 82"),
        ("the fourth of april nineteen eighty two", "the 4th of april 19 82"),
        ("ten thirty", "10 30"),
        ("two thirty p.m.", "2 30 p m"),
        ("ten oh five", "10 05"),
        ("on the twenty second", "on the 22nd"),
        ("oh april fourth", "oh april 4th"),
        ("a hundred", "a 100"),
        ("me and two thousand", "me and 2000"),
        ("Uh, it's 4-4-1982.", "it's 4/4/1982"),
        ("04.04.82", "04/04/82"),
        ("at 10:30", "at 10:30"),
        ("someone", "someone"),
    ],
)
def test_numerize(said: str, expected: str) -> None:
    assert numerize(said) == expected


def test_normalize_drops_fillers_and_punctuation() -> None:
    assert normalize("Uh, Maria Gonzalez... um, yes!") == "maria gonzalez yes"
    assert normalize("O'Brien\u2019s") == "o'brien's"


@pytest.mark.parametrize(
    ("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (22, "22nd")]
)
def test_suffixed(n: int, text: str) -> None:
    assert suffixed(n) == text

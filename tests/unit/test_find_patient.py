"""A patient is found by a name as Whisper spells it and the exact date of birth, on the
real built-in schedule (SQLCipher in a temporary directory); two patients alike are never
guessed between."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.scheduling.matching import best_match, phonetic_key
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "schedule"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)
PATIENTS = """id,first_name,last_name,birth_date,phone
p1,Maria,Gonzalez,1980-04-12,+15550100001
p2,John,Smith,1975-09-30,+15550100002
p3,John,Smith,1991-02-03,+15550100003
p4,Katherine,Lee,1964-07-01,
p5,Thi,Nguyen,1990-03-15,
p6,Sean,O'Brien,1988-08-08,
p7,Ana,Perez,2001-01-01,
p8,Anna,Perez,2001-01-01,
p9,Mario,Rossi,1970-05-05,
p10,Maria,Rossi,1970-05-05,
p11,Maria Elena,De la Cruz,1985-10-10,
"""


@pytest.fixture
def schedule(tmp_path: Path) -> Iterator[BuiltinSchedule]:
    src = tmp_path / "csv"
    shutil.copytree(ASSETS, src)
    (src / "patients.csv").write_text(PATIENTS)
    db = Database.open(tmp_path / "p.db", "5a" * 32, MIGRATIONS)
    import_directory(db, src)
    yield BuiltinSchedule(db, TZ, now=lambda: NOW)
    db.close()


@pytest.mark.parametrize(
    ("first", "last", "born", "expected"),
    [
        ("Maria", "Gonzalez", date(1980, 4, 12), "p1"),
        ("maria", "GONZALEZ", date(1980, 4, 12), "p1"),
        ("Maria", "Gonzales", date(1980, 4, 12), "p1"),  # Whisper's s for z
        ("Marie", "Gonzales", date(1980, 4, 12), "p1"),
        ("Gonzalez", "Maria", date(1980, 4, 12), "p1"),  # "Gonzalez, Maria" read the other way
        ("Catherine", "Lee", date(1964, 7, 1), "p4"),
        ("Kathryn", "Lee", date(1964, 7, 1), "p4"),
        ("John", "Smith", date(1975, 9, 30), "p2"),  # two John Smiths, told apart by the DOB
        ("John", "Smith", date(1991, 2, 3), "p3"),
        ("Jon", "Smyth", date(1991, 2, 3), "p3"),
        ("Thi", "Nguyen", date(1990, 3, 15), "p5"),
        ("Sean", "Obrien", date(1988, 8, 8), "p6"),
        ("Maria", "De La Cruz", date(1985, 10, 10), "p11"),
        ("Maria Elena", "Delacruz", date(1985, 10, 10), "p11"),
        ("Maria Elena", "Gonzalez", date(1980, 4, 12), "p1"),  # a middle name the record lacks
        ("Sean Patrick", "O'Brien", date(1988, 8, 8), "p6"),
    ],
)
async def test_found(
    schedule: BuiltinSchedule, first: str, last: str, born: date, expected: str
) -> None:
    found = await schedule.find_patient(first, last, born)
    assert found is not None and found.id == expected


@pytest.mark.parametrize(
    ("first", "last", "born"),
    [
        ("Maria", "Gonzalez", date(1980, 4, 13)),  # a different date of birth never matches
        ("Maria", "Gonzalez", date(1975, 9, 30)),
        ("John", "Smith", date(1980, 4, 12)),
        ("Thi", "Win", date(1990, 3, 15)),  # "Win" for Nguyen: nothing to tell it apart
        ("Maria", "Garcia", date(1980, 4, 12)),
        ("Jane", "Smith", date(1975, 9, 30)),  # "jn" as John's key, but not alike in letters
        ("Mark", "Gonzalez", date(1980, 4, 12)),
        ("Anna", "Peres", date(2001, 1, 1)),  # Ana and Anna Perez, both alike: no guess
        ("Mariah", "Rossi", date(1970, 5, 5)),  # as like Maria as Mario: no guess
        ("Maria", "Rossi", date(1970, 5, 5)),  # her twin Mario sounds alike: no guess
        ("Ana", "Perez", date(2001, 1, 1)),  # spelled exactly, but Anna sounds the same
        ("", "", date(1980, 4, 12)),
    ],
)
async def test_not_found(schedule: BuiltinSchedule, first: str, last: str, born: date) -> None:
    assert await schedule.find_patient(first, last, born) is None


def test_best_match_takes_only_a_clear_winner() -> None:
    assert best_match("John", "Smith", [("a", "John", "Smith"), ("b", "John", "Smith")]) is None
    assert best_match("John", "Smith", [("a", "John", "Smith"), ("b", "Joan", "Smith")]) is None
    assert best_match("John", "Smith", [("a", "John", "Smith"), ("b", "Jane", "Smith")]) == "a"
    assert best_match("Smith", "John", [("a", "John", "Smith")]) == "a"
    assert best_match("Jon", "Smith", [("a", "John", "Smith")]) == "a"
    assert best_match("John", "Smith", []) is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Katherine", "Catherine", True),
        ("Gonzales", "Gonzalez", True),
        ("Stephen", "Steven", True),
        ("Geoffrey", "Jeffrey", True),
        ("Mohammed", "Muhammad", True),
        ("Nguyen", "Win", False),
        ("Mark", "Mary", False),
        ("Jane", "John", True),  # the key drops vowels: letters must be alike too
    ],
)
def test_phonetic_key(a: str, b: str, same: bool) -> None:
    assert (phonetic_key(a) == phonetic_key(b)) is same

"""Details said around a request (concepts from the misses of lines_dev10 and lines_dev11):
a whole name as a clause of its own or right before its birth date, a relation "of" the
patient; birth dates read out in more forms and corrected; old-fashioned and run-together
times; a day moved "a week later" or "not this friday, the next one"; a correction with
"no"; the caller's own working hours, which are no time to book. New phrasings, not the
tuning lines; each case failed before."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.workflows.identity import birth_date
from appliance.workflows.names import title
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.when import when_wanted

pytestmark = pytest.mark.unit

NOW = datetime(2027, 5, 12, 9, 10, tzinfo=ZoneInfo("America/New_York"))  # a Wednesday
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("i'd like to cancel thursday please, rosa delgado", ("Rosa", "Delgado")),
        ("is my prescription ready, omar haddad 7 19 84", ("Omar", "Haddad")),
        ("book a physical for nina petrova born 2 9 77", ("Nina", "Petrova")),
        ("i'm the son of harriet quinn and she needs a checkup", ("Harriet", "Quinn")),
        ("her name was ada lovell and she had a visit friday", ("Ada", "Lovell")),
        ("uh my names omar haddad", ("Omar", "Haddad")),
        # clauses that are not names
        ("cancel it please, work's mad busy", None),
        ("y'all open, need a checkup", None),
        ("refill please, the pharmacist manager said to call", None),
    ],
)
def test_whole_names_said_around_a_request(said: str, name: tuple[str, str] | None) -> None:
    found = introduced_name(said)
    assert (found.pair() if found else None) == name


def test_a_mc_name_is_written_as_the_record_writes_it() -> None:
    assert title("mcdonagh") == "McDonagh" and title("mack") == "Mack"


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("the ninth of june in the year nineteen fifty", date(1950, 6, 9)),
        ("the second of may nineteen and thirty", date(1930, 5, 2)),
        ("it's 512 79", date(1979, 5, 12)),
        ("1 0 0 3 8 9", date(1989, 10, 3)),
        ("5 6 70 sorry 5 7 70", date(1970, 5, 7)),
        ("the 3rd of june 1960", date(1960, 6, 3)),  # one date, not june 19 60 as well
    ],
)
def test_birth_dates_read_out_and_corrected(said: str, born: date) -> None:
    assert birth_date(said, TODAY) == born


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("can i come at a quarter of ten on friday", date(2027, 5, 14), time(9, 45)),
        ("five of four", None, time(15, 55)),
        ("monday at 145", date(2027, 5, 17), time(13, 45)),
        ("physical tuesday 10", date(2027, 5, 18), time(10, 0)),
        ("a checkup on feb 3", date(2028, 2, 3), None),
        ("i'm booked the 20th, could we do the same time a week later", date(2027, 5, 27), None),
        ("not this monday, the one after", date(2027, 5, 24), None),
        ("friday, no, monday", date(2027, 5, 17), None),
        ("at 9, no, 10", None, time(10, 0)),
        ("the 20th, that's a thursday, for my sugar", date(2027, 5, 20), None),
        ("i get off work at 4 so anything on friday", date(2027, 5, 14), None),
        ("my shift starts at 3, so the morning", None, None),
        ("her birthday is 5 4 19", None, None),  # the birth date's numbers, not 4:19
    ],
)
def test_days_and_times_said_around_a_request(said: str, day: date | None, at: time | None) -> None:
    got = when_wanted(said, NOW, birth_date(said, TODAY))
    assert (got.day, got.at) == (day, at)


EVENING = datetime(2027, 5, 12, 19, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    ("said", "now", "day", "at", "part"),
    [
        ("she has dialysis tuesdays and thursdays, so a friday", NOW, date(2027, 5, 14), None,
         None),
        ("i'm available wednesday from about 9 till 11", NOW, date(2027, 5, 19), None, None),
        ("my 4 o'clock on friday, could we do a morning instead", NOW, date(2027, 5, 14), None,
         "morning"),
        ("i missed this morning's, can i get another time", EVENING, None, None, None),
        ("my appointment's monday at 10, could it be 2 instead", NOW, date(2027, 5, 17),
         time(14, 0), None),
        ("my wife's first language is farsi", NOW, None, None, None),
    ],
)  # fmt: skip
def test_habits_windows_and_hours_that_cannot_be(
    said: str, now: datetime, day: date | None, at: time | None, part: str | None
) -> None:
    got = when_wanted(said, now, None)
    assert (got.day, got.at, got.part_of_day) == (day, at, part)


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("i had a fall on monday, it's better now, but i'd like it looked at", None),
        ("he got home from the hospital tuesday and needs a follow up", None),
        ("my knee's been swollen since i went hiking sunday", None),
        ("i saw doctor lee last friday, she wants me back thursday", date(2027, 5, 13)),
        ("i had booked something for friday but i need to cancel", date(2027, 5, 14)),
    ],
)
def test_a_day_something_happened_is_no_day_to_book(said: str, day: date | None) -> None:
    assert when_wanted(said, NOW, None).day == day


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("could you book nadia hassan for a checkup", ("Nadia", "Hassan")),
        ("please move omar haddad's physical to monday", ("Omar", "Haddad")),
        ("nina petrova may the fifth 77, and mornings are best", ("Nina", "Petrova")),
        ("he needs a physical for soccer camp", None),
        ("can you book doctor lee for me", None),
    ],
)
def test_a_whole_name_as_what_the_request_is_about(said: str, name: tuple[str, str] | None) -> None:
    found = introduced_name(said)
    assert (found.pair() if found else None) == name

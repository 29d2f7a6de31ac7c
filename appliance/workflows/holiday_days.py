"""Days said by a holiday: "christmas eve", "new year's day", "the day after
thanksgiving", "the monday after thanksgiving". A holiday named as a limit or a reason
("before christmas", "till after christmas", "home for christmas") is no day to book.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from appliance.scheduling.dates import MONTHS, WEEKDAYS
from appliance.scheduling.spoken import suffixed


def _thanksgiving(year: int) -> date:
    """The fourth Thursday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


_HOLIDAYS: dict[str, Callable[[int], date]] = {
    r"christmas eve": lambda y: date(y, 12, 24),
    r"christmas(?: day)?": lambda y: date(y, 12, 25),
    r"new year'?s eve": lambda y: date(y, 12, 31),
    r"new year'?s(?: day)?": lambda y: date(y, 1, 1),
    r"thanksgiving(?: day)?": _thanksgiving,
}
_WEEKDAY = "|".join(WEEKDAYS)
# a day counted from a holiday, and the words that make a holiday a limit or a reason
_SHIFT = rf"(?P<shift>the day (?:after|before)|the (?P<weekday>{_WEEKDAY}) after) "
_LIMIT = r"(?:before|after|till|until|for|by|over) "


def _next(holiday: Callable[[int], date], today: date) -> date:
    found = holiday(today.year)
    return found if found >= today else holiday(today.year + 1)


def _shifted(found: date, match: re.Match[str]) -> date:
    shift = match.group("shift") or ""
    if match.group("weekday"):  # "the monday after thanksgiving"
        ahead = (WEEKDAYS.index(match.group("weekday")) - found.weekday()) % 7
        return found + timedelta(days=ahead or 7)
    if "after" in shift:
        return found + timedelta(days=1)
    return found - timedelta(days=1) if "before" in shift else found


def with_holiday_dates(text: str, today: date) -> str:
    """`text` with each holiday that names a day written as that date ("the monday after
    thanksgiving" -> "november 29th"), and each holiday named as a limit or a reason
    removed, so that the date parsers read what the caller meant."""
    for said, holiday in _HOLIDAYS.items():
        match = re.search(rf"\b{_SHIFT}{said}\b", text, re.I)
        if match is None:
            text = re.sub(rf"\b{_LIMIT}{said}\b", " ", text, flags=re.I)
            match = re.search(rf"(?:\b{_SHIFT})?\b{said}\b", text, re.I)
        if match is not None:
            day = _shifted(_next(holiday, today), match)
            spelled = f"{MONTHS[day.month - 1]} {suffixed(day.day)}"
            text = text[: match.start()] + spelled + text[match.end() :]
    return text

"""Resolve dates and times as callers say them, in the clinic's time zone, in code.

The LLM only copies what the caller said ("next Tuesday at half past two"); this module
turns it into a date and a time deterministically. General-purpose parsers get spoken
forms wrong in ways that matter here ("Thursday at 2" as 2 AM months away, "half past
ten" not at all), so the forms callers use are handled explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
]  # fmt: skip
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "an": 1,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "twenty-first": 21, "twenty-second": 22, "twenty-third": 23, "twenty-fourth": 24,
    "twenty-fifth": 25, "twenty-sixth": 26, "twenty-seventh": 27, "twenty-eighth": 28,
    "twenty-ninth": 29, "thirtieth": 30, "thirty-first": 31,
}  # fmt: skip
PARTS_OF_DAY = {
    "morning": (time(8, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(20, 0)),
}
CLINIC_PM_HOURS = range(1, 7)  # "at 2" means 2 PM in a clinic; "at 9" means 9 AM


@dataclass(frozen=True, slots=True)
class Resolved:
    day: date | None
    at: time | None
    part_of_day: str | None  # "morning" | "afternoon" | "evening"


def _words(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("o'clock", "oclock")
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    return " ".join(re.sub(r"[^a-z0-9:\- ]+", " ", text).split())


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return _NUMBER_WORDS.get(token)


def _weekday(text: str, today: date) -> date | None:
    for index, name in enumerate(WEEKDAYS):
        match = re.search(rf"\b(next|this|coming)?\s*{name}\b", text)
        if match:
            ahead = (index - today.weekday()) % 7
            if match.group(1) == "next" and ahead == 0:
                ahead = 7
            elif ahead == 0:
                ahead = 7  # "Tuesday" said on a Tuesday means next week's
            if match.group(1) == "next" and re.search(r"\bnext week\b", text):
                ahead += 7 if ahead < 7 else 0
            return today + timedelta(days=ahead)
    return None


def _month_day(text: str, today: date) -> date | None:
    for index, name in enumerate(MONTHS, start=1):
        match = re.search(rf"\b{name}\s+(?:the\s+)?(\d{{1,2}}|[a-z\-]+)\b", text)
        match = match or re.search(rf"\b(?:the\s+)?(\d{{1,2}}|[a-z\-]+)\s+of\s+{name}\b", text)
        if match:
            day = _ORDINALS.get(match.group(1)) or (
                int(match.group(1)) if match.group(1).isdigit() else None
            )
            if day is None:
                continue
            return _next_valid(today, index, day)
    return None


def _next_valid(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _day_of_month(text: str, today: date) -> date | None:
    match = re.search(r"\bthe\s+(\d{1,2}|[a-z\-]+)\b", text)
    if not match:
        return None
    day = _ORDINALS.get(match.group(1)) or (
        int(match.group(1)) if match.group(1).isdigit() else None
    )
    if day is None or not 1 <= day <= 31:
        return None
    month, year = today.month, today.year
    for _ in range(3):
        try:
            candidate = date(year, month, day)
            if candidate >= today:
                return candidate
        except ValueError:
            pass
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


def resolve_day(text: str, today: date) -> date | None:
    t = _words(text)
    if re.search(r"\btoday\b", t):
        return today
    if re.search(r"\bday after tomorrow\b", t):
        return today + timedelta(days=2)
    if re.search(r"\btomorrow\b", t):
        return today + timedelta(days=1)
    match = re.search(r"\bin\s+(\w+)\s+(day|week)s?\b", t)
    if match and (n := _number(match.group(1))) is not None:
        return today + timedelta(days=n * (7 if match.group(2) == "week" else 1))
    for finder in (_month_day, _weekday, _day_of_month):
        found = finder(t, today)
        if found is not None:
            return found
    if re.search(r"\bnext week\b", t):
        return today + timedelta(days=7 - today.weekday())  # next Monday
    return None


def _hour(value: int, suffix: str | None) -> int | None:
    if not 0 <= value <= 23:
        return None
    if suffix in ("pm", "p m") and value < 12:
        return value + 12
    if suffix in ("am", "a m") and value == 12:
        return 0
    if suffix is None and value in CLINIC_PM_HOURS:
        return value + 12
    return value


def resolve_time(text: str) -> time | None:
    t = _words(text).replace("a m", "am").replace("p m", "pm")
    if re.search(r"\bnoon\b|\bmidday\b", t):
        return time(12, 0)
    rel = re.search(r"\b(half|quarter)\s+(past|to)\s+(\w+)\b", t)
    if rel and (h := _number(rel.group(3))) is not None:
        minutes = 30 if rel.group(1) == "half" else 15
        hour = _hour(h, None)
        if hour is None:
            return None
        base = datetime(2000, 1, 1, hour)
        moment = base + timedelta(minutes=minutes if rel.group(2) == "past" else -minutes)
        return moment.time()
    clock = re.search(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|oclock)?\b", t)
    at = re.search(r"\bat\s+(\w+)(?:\s+(thirty|fifteen|forty-five))?\s*(am|pm)?\b", t)
    if clock and (clock.group(2) or clock.group(3)):
        suffix = clock.group(3) if clock.group(3) in ("am", "pm") else None
        hour = _hour(int(clock.group(1)), suffix)
        minute = int(clock.group(2) or 0)
        return time(hour, minute) if hour is not None and minute < 60 else None
    if at and (h := _number(at.group(1))) is not None:
        extra = {"thirty": 30, "fifteen": 15, "forty-five": 45}.get(at.group(2) or "", 0)
        hour = _hour(h, at.group(3))
        return time(hour, extra) if hour is not None else None
    return None


def resolve(spoken: str, now: datetime) -> Resolved:
    """Resolve a spoken date/time relative to `now` (aware, in the clinic's time zone)."""
    t = _words(spoken)
    part = next((p for p in PARTS_OF_DAY if re.search(rf"\b{p}\b", t)), None)
    return Resolved(resolve_day(spoken, now.date()), resolve_time(spoken), part)

"""Resolve dates and times as callers say them, in the clinic's time zone, in code.

The caller's words as Whisper writes them ("next tuesday at half past two", "december
twelfth at ten thirty", "a week from friday") become a date and a time deterministically;
number words are read by `spoken.numerize` first. General-purpose parsers get spoken
forms wrong in ways that matter here ("Thursday at 2" as 2 AM months away, "half past
ten" not at all), so the forms callers use are handled explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from appliance.scheduling.spoken import numerize

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
]  # fmt: skip
_ARTICLES = {"a": 1, "an": 1}  # "in a week", "a week from Tuesday"
PARTS_OF_DAY = {
    "morning": (time(8, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(20, 0)),
}
CLINIC_PM_HOURS = range(1, 7)  # "at 2" means 2 PM in a clinic; "at 9" means 9 AM


_WEEKDAY = "|".join(WEEKDAYS)
_MONTH = "|".join(MONTHS)
_SUFFIX = r"(?:st|nd|rd|th)?"
# "the 12th", "the 12", but not the hour of "the 10:30", "the 10 30", "the 2 pm"
_THE_DAY = r"\bthe\s+(\d{1,2})(?:(?:st|nd|rd|th)\b|\b(?!:|\s+[0-5]\d\b|\s*(?:am|pm|oclock)\b))"


@dataclass(frozen=True, slots=True)
class Resolved:
    day: date | None
    at: time | None
    part_of_day: str | None  # "morning" | "afternoon" | "evening"
    after: date | None = None  # no one day, the first day to look from: "next week"
    from_time: time | None = None  # no one time, the first to look from: "after 3"
    until: time | None = None  # the time to be done by: "before eleven"

    @property
    def said(self) -> bool:
        """Whether anything about when was said."""
        return any((self.day, self.at, self.part_of_day, self.after, self.from_time, self.until))


# the short forms callers (and Whisper) write that are no other word
_SHORT_WEEKDAYS = {"tues": "tuesday", "tue": "tuesday", "weds": "wednesday",
                   "thurs": "thursday", "thur": "thursday", "thu": "thursday"}  # fmt: skip
# "4/29", "the 5/3 appointment": month and day, not a birth date's "3/14/52"
_SLASHED = r"(?<![\d/])(?P<mon>1[0-2]|0?[1-9])/(?P<day>[0-3]?\d)\b(?!/)"


# parts of the day said another way (after numerize: "first" is "1st")
_SAID_PARTS = {
    r"\b1st thing(?: in the morning)?\b": "morning", r"\bafter school\b": "afternoon",
    r"\b(?:the )?end of the day\b": "afternoon",  # the clinic closes at five
}  # fmt: skip


def _words(text: str) -> str:
    """Normalized, numbers in digits (ordinals keep their suffix), "p m" written "pm"."""
    t = numerize(text).replace("o'clock", "oclock")
    t = re.sub(r"\bnoonish\b|\blunch ?time\b", "noon", t)
    t = re.sub(r"\bo clock\b", "oclock", t)
    # Whisper's homophones of an hour: "at for 30", "at to 30", "won oclock"
    t = re.sub(r"\b(at|around|about|by) for (?=\d|oclock)", r"\1 4 ", t)
    t = re.sub(r"\b(at|around|about|by) (?:to|too) (?=\d|oclock)", r"\1 2 ", t)
    t = re.sub(r"\bwon (?=\d|oclock)", "1 ", t)
    t = re.sub(r"\b(next|this|last|a|per|the) weak\b", r"\1 week", t)  # "next weak"
    t = re.sub(r"\bin (?:to|too) (weeks|days)\b", r"in 2 \1", t)  # "in to weeks"
    t = re.sub(r"\ba week today\b|\btoday week\b", "a week from today", t)
    for said, part in _SAID_PARTS.items():  # "first thing", "after school"
        t = re.sub(said, part, t)
    t = re.sub(r"\bhalf (\d{1,2})\b(?! (?:hours?|days?|weeks?|an?)\b)", r"half past \1", t)
    t = re.sub(r"\bquarter of (?=\d)", "quarter to ", t)  # "a quarter of eleven": 10:45
    t = re.sub(r"\bforenoon\b", "morning", t)
    # a second language's clock: "10 and half", "one and quarter", "4 less quarter", "10 and
    # 15", Whisper's "tree o'clock"; its dates: "the day 18", "15 of december", "monday
    # 21", "after tomorrow", "manana"
    # (only as a clock time: "two and a half weeks", "he is 4 and a half" are no times)
    clock = r"(^|\b(?:at|around|about|by) )"
    t = re.sub(rf"{clock}(\d{{1,2}}) and (?:a )?half\b", r"\1\2:30", t)
    t = re.sub(rf"{clock}(\d{{1,2}}) and (?:a )?quarter\b", r"\1\2:15", t)
    t = re.sub(rf"{clock}(\d{{1,2}}) less (?:a )?quarter\b", r"\1quarter to \2", t)
    t = re.sub(rf"{clock}(\d{{1,2}}) and (15|30|45)\b", r"\1\2:\3", t)
    t = re.sub(r"\btree oclock\b", "3 oclock", t)
    t = re.sub(r"\bthe day (\d{1,2})\b(?! of)", r"the \1", t)
    t = re.sub(rf"\b(?<!the )(\d{{1,2}}) of ({_MONTH})\b", r"\2 \1", t)
    t = re.sub(rf"\b({_WEEKDAY}) (1[3-9]|2\d|3[01])\b(?!:| (?:minutes|mins|hours|days|weeks))",
               r"\1 the \2", t)  # fmt: skip
    # "after tomorrow" said for the day after it; "anything after tomorrow" is a limit
    t = re.sub(r"(?:^|(?<=\bcome )|(?<=\bpossible )|(?<=\bmaybe ))after tomorrow\b",
               "the day after tomorrow", t)  # fmt: skip
    t = re.sub(r"\bma(?:n|ñ)ana\b", "tomorrow", t)
    t = re.sub(r"\b(at|around|about) ([1-9]|1[0-2])([0-5]\d)\b", r"\1 \2:\3", t)  # "at 230"
    t = re.sub(  # "thursday 9": an hour said right after the day
        rf"\b({_WEEKDAY}) ([7-9]|1[0-2])\b(?![:/]|\s*(?:st|nd|rd|th|am|pm|oclock)\b)",
        r"\1 at \2", t)  # fmt: skip
    t = re.sub(r"\b(jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.? (?=\d)", _month_of, t)
    t = re.sub(rf"\b({_MONTH}),? (?:like|um|uh|maybe|say) (?=(?:the )?\d)", r"\1 ", t)
    t = re.sub(r"\blike (\d{1,2})(?=\s*$|,)", r"at \1", t)  # "the earliest you got, like 8"
    t = re.sub(rf"\b({_WEEKDAY}|tomorrow)'?s\b", r"\1", t)  # "tuesdays good", "tomorrows fine"
    for short, day in _SHORT_WEEKDAYS.items():  # "next tues", "thurs at 2"
        t = re.sub(rf"\b{short}\b\.?", day, t)
    return re.sub(r"\b([ap]) m\b", r"\1m", t)


def _month_of(m: re.Match[str]) -> str:
    """ "jan 7" -> "january 7"."""
    return next(month for month in MONTHS if month.startswith(m.group(1)[:3])) + " "


def _count(token: str) -> int | None:
    return int(token) if token.isdigit() else _ARTICLES.get(token)


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _weekday(text: str, today: date) -> date | None:
    """The first weekday said: the coming one ("Tuesday" said on a Tuesday: next week's),
    or the one in next week ("Friday next week")."""
    match = re.search(rf"\b(?:(?:next|this|coming)\s+)?({_WEEKDAY})\b", text)
    if not match:
        return None
    index = WEEKDAYS.index(match.group(1))
    if re.search(r"\bnext week\b", text):
        return _next_monday(today) + timedelta(days=index)
    ahead = (index - today.weekday()) % 7
    return today + timedelta(days=ahead or 7)


def _from(text: str, today: date) -> date | None:
    """ "a week from Tuesday", "two weeks from today", "3 days from tomorrow"."""
    match = re.search(rf"\b(\w+) (day|week)s? from (today|now|tomorrow|{_WEEKDAY})\b", text)
    if not match or (n := _count(match.group(1))) is None:
        return None
    base = match.group(3)
    start = {"today": today, "now": today, "tomorrow": today + timedelta(days=1)}.get(base)
    start = start or _weekday(base, today)
    assert start is not None
    return start + timedelta(days=n * (7 if match.group(2) == "week" else 1))


def _month_day(text: str, today: date) -> date | None:
    """The first month and day said: "December 12th", "the 3rd of December", "12/12"."""
    found = [
        (m.start(), m.group("month"), int(m.group("day")))
        for pattern in (
            rf"\b(?P<month>{_MONTH})\s+(?:the\s+)?(?P<day>\d{{1,2}}){_SUFFIX}\b",
            rf"\b(?P<day>\d{{1,2}}){_SUFFIX}\s+of\s+(?P<month>{_MONTH})\b",
        )
        for m in re.finditer(pattern, text)
    ]
    found += [
        (m.start(), MONTHS[int(m.group("mon")) - 1], int(m.group("day")))
        for m in re.finditer(_SLASHED, text)
    ]
    if not found:
        return None
    _, month, day = min(found)
    return _next_valid(today, MONTHS.index(month) + 1, day)


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
    """ "the 12th", "on the 15th", "the 4": the next such day, this month or later."""
    match = re.search(rf"{_THE_DAY}|\b(\d{{1,2}})(?:st|nd|rd|th)\b", text)
    if not match:
        return None
    day = int(match.group(1) or match.group(2))
    if not 1 <= day <= 31:
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
    """The one day said, or None (none, or a range such as "next week": `resolve_after`)."""
    t = _words(text)
    found = _from(t, today)
    if found is not None:
        return found
    if re.search(r"\btoday\b", t):
        return today
    if re.search(r"\bday after tomorrow\b", t):
        return today + timedelta(days=2)
    if re.search(r"\btomorrow\b", t):
        return today + timedelta(days=1)
    if re.search(r"\b(?:in )?a fortnight\b", t):
        return today + timedelta(days=14)
    british = re.search(rf"\b({_WEEKDAY}) week\b", t)  # "monday week": the one after next
    coming = _weekday(british.group(1), today) if british else None
    if coming is not None:
        return coming + timedelta(days=7)
    match = re.search(r"\bin\s+(\w+)\s+(day|week)s?\b", t)
    if match and (n := _count(match.group(1))) is not None:
        return today + timedelta(days=n * (7 if match.group(2) == "week" else 1))
    named = re.search(
        rf"\b(?:{_WEEKDAY})\s+the\s+(\d{{1,2}})(?:(?:st|nd|rd|th)\b|\b(?!:|\s+[0-5]\d\b"
        r"|\s*(?:am|pm|oclock|o'clock)\b))",
        t,
    )  # "thursday the 2 oclock" is a time on a thursday
    if named:  # "friday the 18th", "monday the 21": the date, not the coming weekday
        found = _day_of_month(f"the {named.group(1)}th", today)
        if found is not None:
            return found
    for finder in (_month_day, _weekday, _day_of_month):
        found = finder(t, today)
        if found is not None:
            return found
    return None


def resolve_after(text: str, today: date) -> date | None:
    """The first day of a range said without a day: "next week" (its Monday), "the week
    after next", "next month" (its first)."""
    t = _words(text)
    if re.search(r"\bweek after next\b", t):
        return _next_monday(today) + timedelta(days=7)
    if re.search(r"\bnext week\b", t):
        return _next_monday(today)
    if re.search(r"\bnext month\b", t):
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return None


def _hour(value: int, suffix: str | None, part: str | None) -> int | None:
    """The hour on a 24-hour clock: "2" is 2 PM in a clinic, unless "in the morning"."""
    if not 0 <= value <= 23:
        return None
    if suffix == "pm" and value < 12:
        return value + 12
    if suffix == "am":
        return 0 if value == 12 else value
    # "10:30 ... in the afternoon" is no 22:30: only hours that fall in the part move on
    later = {None: CLINIC_PM_HOURS, "afternoon": range(1, 7), "evening": range(4, 12)}
    if suffix is None and part == "morning" and value < 6:
        return None  # "my 3 oclock ..., something in the morning": no hour of a morning
    return value + 12 if suffix is None and value in later.get(part, ()) else value


# days said with numbers, so that "December 12 at 10" is not read as 12 o'clock
_DAYS = re.compile(
    rf"\b(?:{_MONTH})\s+(?:the\s+)?\d{{1,2}}{_SUFFIX}\b|{_THE_DAY}|{_SLASHED}"
    r"|\b\d{1,2}(?:st|nd|rd|th)\b|\b\d+\s+(?:day|week|month)s?\b"
)
_CLOCK = re.compile(
    r"(?:\b(at|around|about|by|after|before|from)\s+)?\b(\d{1,2})"
    r"(?::(\d{2})|\s([0-5]\d))?\s*(am|pm|oclock|ish)?\b(?!\s*of\b)"
)  # "about one of your patients" is no time


_LUNCH = {"after lunch": "afternoon", "before lunch": "morning"}


def _part(t: str) -> str | None:
    """The part of day wanted; none when the caller names two as a question ("morning
    or afternoon?"); "after lunch" is the afternoon, "before lunch" the morning."""
    said = [p for p in PARTS_OF_DAY if re.search(rf"\b{p}\b", t)]
    if len(said) > 1 and re.search(rf"\b(?:{'|'.join(said)})\s+or\s+(?:the\s+)?\w+", t):
        return None
    if said:
        return said[0]
    return next((part for words, part in _LUNCH.items() if words in t), None)


def resolve_time(text: str) -> time | None:
    """ "at 3", "3:30 pm", "ten thirty", "half past two", "quarter to three", "noon"."""
    t = _DAYS.sub(" ", _words(text))
    part = _part(t)
    if re.search(r"\bnoon\b|\bmidday\b", t):
        return time(12, 0)
    minutes_past = re.search(r"\b(5|10|20|25) (?:minutes )?(past|after|of) (\d{1,2})\b", t)
    if minutes_past:  # "twenty past nine", "ten of three" (2:50)
        hour = _hour(int(minutes_past.group(3)), None, part)
        if hour is None:
            return None
        minutes = int(minutes_past.group(1))
        before = minutes_past.group(2) == "of"
        moment = datetime(2000, 1, 1, hour) + timedelta(minutes=-minutes if before else minutes)
        return moment.time()
    rel = re.search(r"\b(half|quarter)\s+(past|after|to)\s+(\d{1,2})\b", t)
    if rel:
        hour = _hour(int(rel.group(3)), None, part)
        if hour is None:
            return None
        minutes = 30 if rel.group(1) == "half" else 15
        moment = datetime(2000, 1, 1, hour) + timedelta(
            minutes=-minutes if rel.group(2) == "to" else minutes
        )
        return moment.time()
    for match in _CLOCK.finditer(t):
        lead, hour_said, colon, spaced, suffix = match.groups()
        minute = colon or spaced
        in_the = re.match(r"\s*in the (?:morning|afternoon|evening)\b", t[match.end() :])
        if not (lead or minute or suffix or in_the):  # "8 in the morning" is a time
            continue
        hour = _hour(int(hour_said), suffix if suffix in ("am", "pm") else None, part)
        if hour is not None and int(minute or 0) < 60:
            return time(hour, int(minute or 0))
    return None


def resolve(spoken: str, now: datetime) -> Resolved:
    """Resolve a spoken date/time relative to `now` (aware, in the clinic's time zone)."""
    today = now.date()
    day = resolve_day(spoken, today)
    after = resolve_after(spoken, today) if day is None else None
    return Resolved(day, resolve_time(spoken), _part(_words(spoken)), after)

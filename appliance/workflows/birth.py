"""A date of birth as callers say it and Whisper writes it, read in code.

"April fourth nineteen eighty two", "the fourth of April 82", "four four eighty two",
"oh four oh four eighty two", "zero four zero four eighty two", "04/04/82", "4-4-1982",
"1982-04-04" (a model's slot), year first ("nineteen eighty two april fourth"), "fourth
month fourth day nineteen eighty two": the line's number words become digits first
(`spoken.numerize`), then a few patterns read month, day and year in US order (year first
only with four digits). A two-digit year is the latest 19xx or 20xx that is not in the
future; a date after today, before 1900 or impossible is no birth date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from appliance.scheduling.dates import MONTHS, WEEKDAYS
from appliance.scheduling.spoken import numerize

_MONTH = "(" + "|".join(MONTHS) + ")"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_LONG_YEAR = r"(\d{4}|(?:19|20) \d{2})"  # "1982", or said in pairs: "19 82", "20 05"
_YEAR = r"(\d{4}|(?:19|20) \d{2}|\d{2})"
_OF = r"(?:,? (?:of |in (?:the year )?|and the year (?:is |was )?))?,? ?"


def _patterns(year: str) -> list[tuple[re.Pattern[str], str]]:
    """(pattern, the order of its groups: m month name, n month number, d day, y year)."""
    return [
        (re.compile(r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b"), "ynd"),
        (re.compile(rf"\b{_MONTH},? (?:the )?{_DAY}{_OF}{year}\b"), "mdy"),
        (re.compile(rf"\b(?:the )?{_DAY} (?:of )?{_MONTH}{_OF}{year}\b"), "dmy"),
        (re.compile(rf"\b(\d{{1,2}})/(\d{{1,2}})/{_YEAR}\b"), "ndy"),
        (re.compile(rf"\b(\d{{1,2}})/(\d{{1,2}})/{_YEAR}\b"), "dny"),  # "25/03/71"
        (re.compile(rf"\b(\d{{1,2}}) (\d{{1,2}}) {year}\b"), "ndy"),
        (re.compile(rf"\b(\d{{1,2}}) (\d{{1,2}}) {_LONG_YEAR}\b"), "dny"),  # "25 12 1979"
        (re.compile(r"\byear (\d{4}),? month (\d{1,2}),? day (\d{1,2})\b"), "ynd"),
        (re.compile(rf"\b{_LONG_YEAR},? {_MONTH},? (?:the )?{_DAY}\b"), "ymd"),
        (re.compile(rf"\b{_LONG_YEAR},? (?:the )?{_DAY} (?:of )?{_MONTH}\b"), "ydm"),
        (re.compile(rf"\b(?:the )?{_DAY} of the {_DAY},? {year}\b"), "dny"),  # "3rd of the 7th"
        (re.compile(rf"\b{_DAY} month,? {_DAY} day,? (?:of )?{year}\b"), "ndy"),
        (re.compile(rf"\bborn (?:in )?(\d{{2}}),? {_MONTH},? (?:the )?{_DAY}\b"), "ymd"),
        (
            re.compile(
                rf"\b{_MONTH},? (?:the )?{_DAY},? (?:i was |she was |he was )?born in"
                r" (\d{2}|\d{4})\b"
            ),
            "mdy",
        ),
    ]


_ANY = _patterns(_YEAR)
_WITH_LONG_YEAR = _patterns(_LONG_YEAR)


def _digits(text: str) -> str:
    """Numbers in digits; "1990 slash 7 slash 15" as "1990/7/15", "1 1 21 68" as "11 21 68"."""
    t = re.sub(r"(?<=\d) slash (?=\d)", "/", _named_days(numerize(_named_days(text))))
    # "one one twenty one sixty eight": the month said digit by digit
    t = re.sub(r"\b(0|1) ([0-9]) (?=\d{1,2} (?:\d{2}|\d{4})\b)", r"\1\2 ", t)
    t = re.sub(r"\b19 and (\d{2})\b", r"19 \1", t)  # "nineteen and twenty eight"
    t = re.sub(r"\b(1) (9) (\d) (\d)\b|\b(2) (0) ([0-2]) (\d)\b", _joined, t)  # "1 9 8 2"
    # Whisper's run-together digits: "314 88" (3 14 88), "0 6 0 9 0 1" (06 09 01)
    t = re.sub(r"(?<!at )\b(1[0-2]|0?[1-9])([0-3]\d) (\d{2}|\d{4})\b", r"\1 \2 \3", t)
    return re.sub(r"\b(\d) (\d) (\d) (\d) (\d) (\d)\b", r"\1\2 \3\4 \5\6", t)


# a month's short name before its day ("nov 2 2010"), a holiday with its year ("born on
# christmas day 2019"): the month and day
_SHORT = {"jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
          "jul": "july", "aug": "august", "sep": "september", "sept": "september",
          "oct": "october", "nov": "november", "dec": "december"}  # fmt: skip
_NAMED = {"christmas day": "december 25", "christmas eve": "december 24",
          "new year's day": "january 1", "new years day": "january 1",
          "valentine's day": "february 14", "halloween": "october 31",
          "new year's eve": "december 31", "fourth of july": "july 4"}  # fmt: skip


SHORT_MONTHS = frozenset(_SHORT)


def _named_days(text: str) -> str:
    t = re.sub(
        rf"\b({'|'.join(_SHORT)})\.? (?=\d)",
        lambda m: _SHORT[m.group(1).lower()] + " ",
        text,
        flags=re.I,
    )
    return re.sub(
        rf"\b({'|'.join(_NAMED)}),? (?=(?:in )?(?:\d{{4}}|nineteen|two thousand|twenty))",
        lambda m: _NAMED[m.group(1).lower()] + " ",
        t,
        flags=re.I,
    )


def _joined(m: re.Match[str]) -> str:
    return "".join(g for g in m.groups() if g)


def _year(said: str, month: int, day: int, today: date) -> int:
    digits = said.replace(" ", "")
    if len(digits) == 4:
        return int(digits)
    year = 2000 + int(digits)
    try:
        return year if date(year, month, day) <= today else year - 100
    except ValueError:
        return year - 100


def _date(match: re.Match[str], order: str, today: date) -> date | None:
    parts = dict(zip(order, match.groups(), strict=True))
    month = MONTHS.index(parts["m"]) + 1 if "m" in parts else int(parts["n"])
    day = int(parts["d"])
    try:
        born = date(_year(parts["y"], month, day, today), month, day)
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born <= today else None


def _matches(
    text: str, patterns: list[tuple[re.Pattern[str], str]]
) -> Iterator[tuple[re.Match[str], str]]:
    found = [(m, order) for pattern, order in patterns for m in pattern.finditer(text)]
    yield from sorted(found, key=lambda item: item[0].start())


def birth_date(text: str, today: date | None = None) -> date | None:
    """The first date of birth in `text` (see the module's doc); `today` bounds it
    (default: the system's date)."""
    today = today or date.today()
    # "born june the 2nd this year": a baby's
    text = re.sub(
        r"(?<=\d|[dht])(?: of)? (this|last) year\b",
        lambda m: f" {today.year - (m.group(1).lower() == 'last')}",
        text,
    )
    found = [(m, b) for m, order in _matches(_digits(text), _ANY) if (b := _date(m, order, today))]
    if _CORRECTED.search(text) and found:  # "2 2 95 no wait 2 3 95", "1964 not 1946, march 8 1964"
        # the one said last is the one meant; of two ending there, the longer
        return max(found, key=lambda f: (f[0].end(), -f[0].start()))[1]
    return found[0][1] if found else None


_CORRECTED = re.compile(r"\b(?:no|wait|sorry|i mean|actually|not)\b", re.I)


def without_the_birth_date(text: str, born: date, today: date) -> str:
    """`text` (numbers in digits) without the words that said `born` ("12 2 47")."""
    t = _digits(text)
    spans = [m.span() for m, order in _matches(t, _ANY) if _date(m, order, today) == born]
    for start, end in reversed(spans):
        t = t[:start] + " " + t[end:]
    return t


def without_birth_date(text: str) -> str:
    """`text` (normalized, numbers in digits) without dates that carry a year: a date of
    birth is not a day to book. A two-digit year counts only in "04/04/82": "december 12
    10 30" is a day and a time."""
    t = re.sub(r"\bborn in (?:the year )?(?:\d{4}|(?:19|20) \d{2})\b", " ", _digits(text))
    slashed = [(p, o) for p, o in _ANY if "/" in p.pattern]
    keep = [True] * len(t)
    for match, _ in _matches(t, [*slashed, *_WITH_LONG_YEAR]):
        start = match.start()
        said_with = re.search(rf"\b(?:{'|'.join(WEEKDAYS)}),? (?:the )?$", t[:start])
        start = said_with.start() if said_with else start  # "sunday march 9th 1958"
        keep[start : match.end()] = [False] * (match.end() - start)
    return " ".join("".join(c if k else " " for c, k in zip(t, keep, strict=True)).split())

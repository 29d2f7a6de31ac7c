"""Caller identity from what they said: a full name and a date of birth."""

from __future__ import annotations

import re
from datetime import date

from appliance.scheduling.dates import MONTHS

_NUMERIC = re.compile(r"\b(\d{1,2})[/\-. ](\d{1,2})[/\-. ](\d{4})\b")
_SPOKEN = re.compile(
    r"\b(" + "|".join(MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE
)
_SPOKEN_DAY_FIRST = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(MONTHS) + r"),?\s+(\d{4})\b",
    re.IGNORECASE,
)
_NAME = re.compile(
    r"\b(?:my name is|this is|i am|i'm|name's)\s+([a-z][a-z'\-]+(?:\s+[a-z][a-z'\-]+){1,2})",
    re.IGNORECASE,
)
_STOP = {"and", "born", "my", "date", "of", "birth", "dob", "on", "the"}


def birth_date(text: str) -> date | None:
    """US order for numbers (04/12/1980), or spoken ("April 12th, 1980", "12 April 1980")."""
    try:
        if m := _SPOKEN.search(text):
            return date(int(m.group(3)), MONTHS.index(m.group(1).lower()) + 1, int(m.group(2)))
        if m := _SPOKEN_DAY_FIRST.search(text):
            return date(int(m.group(3)), MONTHS.index(m.group(2).lower()) + 1, int(m.group(1)))
        if m := _NUMERIC.search(text):
            return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None
    return None


def full_name(text: str, slot: str | None = None) -> tuple[str, str] | None:
    """(first, last) from the LLM's slot or from 'my name is ...'."""
    candidate = slot
    if not candidate and (m := _NAME.search(text)):
        candidate = m.group(1)
    if not candidate:
        return None
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", candidate) if w.lower() not in _STOP]
    if len(words) < 2:
        return None
    return words[0], words[-1]

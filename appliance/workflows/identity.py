"""Caller identity from what they said: a full name and a date of birth."""

from __future__ import annotations

import re
from datetime import date

from appliance.scheduling.model import Patient
from appliance.workflows.birth import birth_date, without_birth_date
from appliance.workflows.names import HeardName, corrected, heard_name

__all__ = [
    "HeardName",
    "birth_date",
    "corrected",
    "full_name",
    "heard_name",
    "names_someone_else",
    "without_birth_date",
]

_RELATIONS = (
    "son|daughter|wife|husband|partner|spouse|mother|mom|mum|father|dad|parents?|child"
    "|children|kids?|baby|brother|sister|grandson|granddaughter|grandmother|grandfather"
    "|grandma|grandpa|grandchild|aunt|uncle|nephew|niece|friend|neighbou?r|patient"
)
# someone other than the caller: "for my son", "my wife's appointment", "someone else"
_THIRD_PARTY = re.compile(
    rf"\b(?:my|our|his|her|their)\s+(?:{_RELATIONS})\b|\b(?:someone|somebody) else\b",
    re.IGNORECASE,
)
_STOP = {"and", "born", "my", "date", "of", "birth", "dob", "on", "the"}


def full_name(text: str, slot: str | None = None) -> tuple[str, str] | None:
    """(first, last) from the caller's words ("my name is ...", or the name alone: see
    `names.heard_name`), else from the LLM's slot (cut before any comma, digit or "born":
    a small model sometimes copies the DOB too)."""
    heard = heard_name(text)
    if heard is not None and (pair := heard.pair()) is not None:
        return pair
    if not slot:
        return None
    candidate = re.split(r"[,\d]|\bborn\b", slot, maxsplit=1, flags=re.I)[0]
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", candidate) if w.lower() not in _STOP]
    return (words[0], words[-1]) if len(words) >= 2 else None


def names_someone_else(text: str, slot_name: str | None, patient: Patient, today: date) -> bool:
    """Whether the caller speaks of a person other than the identified `patient`: a
    relative or "someone else", a different name (the LLM's slot, or a name said with a
    date of birth), or a different date of birth (a past date with a year).

    Only what the caller said counts: a small model fills slots nobody said (a "yes" read
    as a name and a birth date), so a slot's name must be in the words, and a birth date
    is read from the words themselves, never from the model's slot."""
    if _THIRD_PARTY.search(text):
        return True
    born = birth_date(text, today)
    if born is not None and born < today and born != patient.birth_date:
        return True
    heard = full_name("", slot_name) if slot_name and _said(slot_name, text) else None
    name = heard or (full_name(text) if born is not None else None)
    if name is None:
        return False
    return (_plain(name[0]), _plain(name[1])) != (
        _plain(patient.first_name),
        _plain(patient.last_name),
    )


def _said(name: str, text: str) -> bool:
    """Every part of `name` is in the caller's words (letters only, any case)."""
    words = _plain(text)
    parts = [_plain(part) for part in name.split()]
    return bool(parts) and all(part and part in words for part in parts)


def _plain(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())

"""A name as Whisper spelled it matched to the patients born on the day said.

The date of birth must match exactly (the store's query); a name only needs to sound
like the record's: each part scores by letters (difflib's ratio) and, where both have the
same phonetic key and are alike enough in letters (the key drops vowels: "Jane" and
"John" share one), at least PHONETIC ("Gonzales"/"Gonzalez", "Katherine"/"Catherine",
"Jon"/"John"). A record's parts are also compared word by word, so "Maria" finds "Maria
Elena", "Mary Ann" finds "Mary" and "Gonzalez" finds "Gonzalez Lopez"; first and last
said the other way round count, a little less. Only a unique best candidate is taken:
two close ones, or a runner-up that sounds like the name said (Ana and Anna Perez born
the same day; Maria and Mario), are never guessed between, even when one is spelled
exactly as heard.
"Win" for "Nguyen" does not match: no letters or key in common to tell it from any
other short name.

The standard library suffices (a handful of candidates per birth date), so the
appliance needs no fuzzy-matching dependency (rapidfuzz is only in the dev tools).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import TypeVar

T = TypeVar("T")

PART_MIN = 0.8  # each part of the name at least this alike
PHONETIC = 0.9  # the score of two spellings with the same phonetic key...
PHONETIC_FLOOR = 0.7  # ...and at least this alike in letters
SWAPPED = 0.95  # "Gonzalez Maria" for Maria Gonzalez counts a little less
MARGIN = 0.04  # the best candidate must beat the next by this much
SOUND_ALIKE = PHONETIC  # a runner-up scoring this much could be the one said

_INITIAL = {"kn": "n", "gn": "n", "pn": "n", "wr": "r", "ps": "s", "wh": "w", "x": "s"}
_RULES = [
    ("tch", "x"), ("sch", "sk"), ("ch", "x"), ("sh", "x"), ("ph", "f"), ("ck", "k"),
    ("dg", "j"), ("th", "0"), ("qu", "kw"), ("q", "k"), ("x", "ks"), ("z", "s"), ("v", "f"),
    ("c(?=[eiy])", "s"), ("c", "k"), ("g(?=[eiy])", "j"), ("(?<=.)gh", ""),
]  # fmt: skip


def plain(name: str) -> str:
    """Letters only, lowercase, no accents: "O'Brien" -> "obrien", "Nguyễn" -> "nguyen"."""
    letters = unicodedata.normalize("NFKD", name.lower())
    return re.sub(r"[^a-z]", "", letters)


def phonetic_key(name: str) -> str:
    """A simple metaphone-like key: the first sound, then the consonant sounds, vowels
    and h/w/y dropped, repeats collapsed ("Katherine" and "Catherine": "k0rn")."""
    s = plain(name)
    for start, sound in _INITIAL.items():
        if s.startswith(start):
            s = sound + s[len(start) :]
            break
    for pattern, sound in _RULES:
        s = re.sub(pattern, sound, s)
    if not s:
        return ""
    rest = re.sub(r"[aeiouyhw]", "", s[1:])
    return re.sub(r"(.)\1+", r"\1", s[0] + rest)


def _score(heard: str, stored: str) -> float:
    a, b = plain(heard), plain(stored)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ratio = SequenceMatcher(None, a, b).ratio()
    if ratio >= PHONETIC_FLOOR and phonetic_key(a) == phonetic_key(b):
        return max(ratio, PHONETIC)
    return ratio


def part_score(heard: str, stored: str) -> float:
    """0..1: how alike a part said is to a record's part, or one word of either to the
    other whole ("Maria" and "Maria Elena", "Mary Ann" and "Mary")."""
    words = [w for w in re.split(r"[\s\-]+", stored) if len(plain(w)) >= 2]
    said = [w for w in re.split(r"[\s\-]+", heard) if len(plain(w)) >= 2]
    return max(
        [_score(heard, stored)]
        + [_score(heard, w) for w in words]
        + [_score(w, stored) for w in said]
    )


def name_score(first: str, last: str, stored_first: str, stored_last: str) -> float | None:
    """The mean of both parts' scores, or None when either is below PART_MIN."""
    straight = (part_score(first, stored_first), part_score(last, stored_last))
    swapped = (part_score(first, stored_last), part_score(last, stored_first))
    scores = [sum(straight) / 2] if min(straight) >= PART_MIN else []
    if min(swapped) >= PART_MIN:
        scores.append(SWAPPED * sum(swapped) / 2)
    return max(scores, default=None)


def best_match(first: str, last: str, candidates: Sequence[tuple[T, str, str]]) -> T | None:
    """The one candidate (item, first name, last name) whose name is most like the one
    said, or None: none alike enough, two within MARGIN of each other, or a runner-up
    that sounds like the name said."""
    scored = []
    for item, stored_first, stored_last in candidates:
        score = name_score(first, last, stored_first, stored_last)
        if score is not None:
            scored.append((score, item))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    if not scored:
        return None
    if len(scored) > 1 and (scored[1][0] >= SOUND_ALIKE or scored[0][0] - scored[1][0] < MARGIN):
        return None
    return scored[0][1]

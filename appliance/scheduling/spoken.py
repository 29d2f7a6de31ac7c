"""Numbers as callers say them and Whisper writes them, read in code.

Whisper writes lowercase words or digits, often both in one line ("april fourth 82",
"nineteen eighty two", "oh four oh four eighty two"). `numerize` rewrites the number
words of a line as digits, one group per number said: "nineteen eighty two" becomes
"19 82" (a date parser knows that a year is said in pairs; a time parser reads "ten
thirty" as "10 30"), "two thousand and five" becomes "2005", "oh four" becomes "04" and
ordinals keep their suffix ("twenty first" becomes "21st"). `number` reads a whole
phrase as one number, years said in pairs included.

Hand-written rather than text2num: that library leaves "oh four" and a lone "one" as
words and splits years said in pairs ("19 82") too, so the date grammar would still be
needed here; this grammar is small and domain-specific.
"""

from __future__ import annotations

import re

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9,
}  # fmt: skip
ORDINAL_TEENS = {
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}  # fmt: skip
ORDINAL_TENS = {
    "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60,
    "seventieth": 70, "eightieth": 80, "ninetieth": 90,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1000}
ZEROS = {"oh", "o"}  # "oh four": only before a unit
FILLERS = {"uh", "um", "umm", "uhm", "uhh", "er", "erm", "ah", "eh", "hmm", "hm", "mm", "mhm"}
NUMBER_WORDS = frozenset(
    {*UNITS, *TEENS, *TENS, *ORDINAL_UNITS, *ORDINAL_TEENS, *ORDINAL_TENS, *SCALES}
)


def normalize(text: str) -> str:
    """Lowercase words, digits and date separators; no fillers, no other punctuation.

    "4-4-1982" and "04.04.82" become "4/4/1982" and "04/04/82"; "10:30" keeps its colon;
    "twenty-first" becomes "twenty first"; "p.m." becomes "p m"."""
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"(?<=\d)[/.\-](?=\d)", "/", t)
    t = re.sub(r"(?<=\d):(?=\d)", "\x00", t)
    t = re.sub(r"[^a-z0-9/'\x00]+", " ", t).replace("\x00", ":")
    words = (w.strip("'") for w in t.split())
    return " ".join(w for w in words if w and w not in FILLERS)


def suffixed(n: int) -> str:
    """12 -> "12th", 21 -> "21st"."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def _is_number_word(words: list[str], i: int) -> bool:
    w = words[i]
    if w in NUMBER_WORDS:
        return True
    if w in ZEROS:  # "oh four", not "oh, april"
        return i + 1 < len(words) and words[i + 1] in UNITS
    if w == "and":  # "two thousand and five"
        return 0 < i < len(words) - 1 and words[i - 1] in SCALES and words[i + 1] in NUMBER_WORDS
    return False


def _small(run: list[str], i: int) -> tuple[str, int]:
    """One number below 100 from run[i]: (digits, next index); "oh four" -> "04"."""
    w = run[i]
    if w in ZEROS or (w == "zero" and i + 1 < len(run) and UNITS.get(run[i + 1], 0) > 0):
        return f"0{UNITS[run[i + 1]]}", i + 2  # "oh four", "zero seven"
    if w in TENS and i + 1 < len(run):
        nxt = run[i + 1]
        if nxt in UNITS and UNITS[nxt] > 0:
            return str(TENS[w] + UNITS[nxt]), i + 2
        if nxt in ORDINAL_UNITS:
            return suffixed(TENS[w] + ORDINAL_UNITS[nxt]), i + 2
    for table in (UNITS, TEENS, TENS):
        if w in table:
            return str(table[w]), i + 1
    for table in (ORDINAL_UNITS, ORDINAL_TEENS, ORDINAL_TENS):
        if w in table:
            return suffixed(table[w]), i + 1
    return str(SCALES.get(w, "")), i + 1  # "a hundred"; "and" is no number by itself


def _group(run: list[str], i: int) -> tuple[str, int]:
    """One number from run[i], with "hundred" and "thousand": (digits, next index)."""
    digits, i = _small(run, i)
    if not digits.isdigit() or digits.startswith("0"):
        return digits, i
    value = int(digits)
    for scale in ("hundred", "thousand"):
        if i < len(run) and run[i] == scale and value < SCALES[scale]:
            value, i = value * SCALES[scale], i + 1
            if i + 1 < len(run) and run[i] == "and":
                i += 1
            rest, j = _group(run, i) if i < len(run) else ("", i)
            if rest.isdigit() and not rest.startswith("0") and int(rest) < SCALES[scale]:
                value, i = value + int(rest), j
    return str(value), i


def _segments(run: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(run):
        digits, i = _group(run, i)
        if digits:
            out.append(digits)
    return out


def numerize(text: str) -> str:
    """`text` normalized, each number said written in digits (see the module's doc)."""
    words = normalize(text).split()
    out: list[str] = []
    i = 0
    while i < len(words):
        if not _is_number_word(words, i):
            out.append(words[i])
            i += 1
            continue
        j = i
        while j < len(words) and _is_number_word(words, j):
            j += 1
        out.extend(_segments(words[i:j]))
        i = j
    return " ".join(out)


def number(phrase: str) -> int | None:
    """The whole phrase as one number: "nineteen eighty two" 1982, "twenty twenty six"
    2026, "two thousand and five" 2005, "oh four" 4, "fourth" 4, "thirty first" 31; None
    when any word is not part of it."""
    parts = numerize(phrase).split()
    found = [re.fullmatch(r"(\d+)(?:st|nd|rd|th)?", part) for part in parts]
    values = [int(m.group(1)) for m in found if m]
    if not parts or len(values) != len(parts):
        return None
    if len(parts) == 1:
        return values[0]
    pairs = len(parts) == 2 and all(p.isdigit() and len(p) == 2 for p in parts)
    if pairs and parts[0][0] != "0":  # a year said in pairs
        return values[0] * 100 + values[1]
    return None

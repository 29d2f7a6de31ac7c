"""The text normaliser WER is scored after, and the entities of a reference line.

`normalise(text)` makes the words a transcript and its reference are compared on:
lowercase, no punctuation, no fillers ("uh", "um"), number words as digits and every
number spelled digit by digit, so that "April 4th" == "april fourth" == "April 4"
("april 4"), "nineteen eighty two" == "1982" ("1 9 8 2"), "10:30" == "ten thirty"
("1 0 3 0"), "555-0123" == "five five five oh one two three". Ordinal suffixes go ("21st"
-> "2 1"), "2:00" and "two o'clock" are both "2", "p.m." is "pm", "Dr." is "doctor",
"ok" is "okay". Number words are read by appliance/quality/wer_numbers.py. Digit by
digit costs a long number more words than it was said in: WER weighs a misheard year as
up to four word errors.

`entity_spans(text, names)` marks the entities of a reference (what a misheard word costs
most in a clinic): numbers (digits), dates (month and weekday names with their digits)
and names: capitalised words that are not "I", a title, a month or a weekday, and do not
start a sentence unless another such word follows ("Maria Gonzalez, born..."), and any
word of `names` (the clinic's vocabulary). Entities are maximal runs of such words in
the normalised reference, as (start, end) word indices: "April 4th 1982" is one entity.
"""

from __future__ import annotations

import re

from appliance.quality.wer_numbers import numerize

MONTHS = frozenset(
    {
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december",
    }
)  # fmt: skip
WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
TITLES = frozenset({"doctor", "dr", "mister", "mr", "mrs", "ms", "miss", "missus", "nurse"})
SPELLING = {"dr": "doctor", "ok": "okay", "mr": "mister", "mrs": "missus"}
FILLERS = frozenset(
    {"uh", "um", "umm", "uhm", "uhh", "er", "erm", "ah", "eh", "hmm", "hm", "mm", "mhm"}
)
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_PRONOUN_I = re.compile(r"^I(?:'[a-z]+)?$")
_SENTENCE = re.compile(r"(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)[.!?]+\s+|\n")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")


def normalise(text: str) -> list[str]:
    """The comparable words of `text` (see the module's doc)."""
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"(?<=\d):00\b", "", t)  # "2:00" is "2"
    t = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", t)  # "p.m." is "pm"
    t = re.sub(r"o'clock", " ", t)
    t = re.sub(r"[^a-z0-9']+", " ", t)  # separators of dates, times, numbers included
    words = [w.strip("'") for w in t.split()]
    words = [w for w in words if w and w not in FILLERS]
    out: list[str] = []
    for word in numerize(words):
        ordinal = _ORDINAL.match(word)
        if ordinal:
            word = ordinal.group(1)
        if word.isdigit():
            out.extend(word)  # digit by digit
        else:
            out.append(SPELLING.get(word, word))
    return out


def name_words(text: str, names: frozenset[str] = frozenset()) -> frozenset[str]:
    """The lowercase words of `text` taken as names (see the module's doc)."""
    found = set(names)
    for sentence in _SENTENCE.split(text):
        words = [m.group(0) for m in _WORD.finditer(sentence)]
        for i, word in enumerate(words):
            lower = word.lower().strip("'")
            if not _capitalised_name(word, lower):
                continue
            # a sentence starts with a capital: a name only before another name
            if i == 0 and not (len(words) > 1 and _capitalised_name(words[1], words[1].lower())):
                continue
            found.add(lower)
            found.update(part for part in re.split(r"[-']", lower) if len(part) > 1)
    return frozenset(found)


def _capitalised_name(word: str, lower: str) -> bool:
    if not word[0].isupper() or _PRONOUN_I.match(word):
        return False
    return lower not in TITLES and lower not in MONTHS and lower not in WEEKDAYS


def is_entity_word(word: str, names: frozenset[str], after: str = "") -> bool:
    """A digit, month, weekday or name; "may" only before a digit (else the verb)."""
    if word == "may" and "may" not in names:
        return after.isdigit()
    return word.isdigit() or word in MONTHS or word in WEEKDAYS or word in names


def entity_spans(
    text: str, names: frozenset[str] = frozenset()
) -> tuple[list[str], list[tuple[int, int]]]:
    """The normalised words of the reference `text` and its entities' (start, end)."""
    words = normalise(text)
    known = name_words(text, frozenset(n.lower() for n in names))
    spans: list[tuple[int, int]] = []
    start: int | None = None
    padded = [*words, "", ""]
    for i, word in enumerate(padded[:-1]):
        if word and is_entity_word(word, known, padded[i + 1]):
            start = i if start is None else start
        elif start is not None:
            spans.append((start, i))
            start = None
    return words, spans

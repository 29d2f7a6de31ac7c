"""Names spelled out or fixed by one letter, as Whisper writes them.

"g o n z a l e s", "G-O-N-Z-A-L-E-S" and "G. O. N. Z. A. L. E. S." are one word;
"with an s", "with a z at the end", "spelled with a k" say which letter is right.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from appliance.workflows.name_words import LETTER_NAMES, STOP

# three or more single letters in a row; not the "s" of "it's"
# ("s i o b h a n, i need": the "i" after the comma starts the next words; "m a r i a
# gonzalez": the "a" is the name's)
_SPELLED = re.compile(
    r"(?<![a-z'])[a-z](?:(?!\s*[.,][\s.,\-]*[ia] [a-z]{2})[\s.,\-]+[a-z](?![a-z'])){2,}",
    re.IGNORECASE,
)
_LETTER = "|".join(sorted(LETTER_NAMES, key=len, reverse=True)) + "|[a-z]"
_HINT = re.compile(
    rf"\b(?:spelled |spelt )?with (?:an? |one |the letter )?(?P<letter>{_LETTER})(?:'s)?\b"
    r"(?: (?:at|in|on) the (?P<where>end|start|beginning|middle))?"
    rf"(?: not (?:an? )?(?:{_LETTER})\b)?"
)
# letters a transcript mixes up, the likeliest first
_CONFUSED = {
    "s": "zc", "z": "s", "c": "ks", "k": "c", "i": "ye", "y": "i", "e": "ai", "a": "e",
    "f": "v", "v": "f", "m": "n", "n": "m", "t": "d", "d": "t", "b": "p", "p": "b",
}  # fmt: skip


def join_spelled(text: str) -> str:
    """`text` with each run of spelled letters written as one lowercase word."""
    return _SPELLED.sub(lambda m: re.sub(r"[^a-z]", "", m.group(0).lower()), text)


def spelled_over(text: str) -> str:
    """`text` with each run of spelled letters written as one word; a spelling of a word
    said just before it replaces that word ("piotr nowak p i o t r": "piotr nowak",
    "smith s m y t h": "smyth") instead of adding a word."""
    out, at = "", 0
    for match in _SPELLED.finditer(text):
        word = re.sub(r"[^a-z]", "", match.group(0).lower())
        before = text[at : match.start()]
        said = [m for m in re.finditer(r"[a-z][a-z'\-]+", before.lower()) if len(m.group(0)) > 1]
        alike = [
            m
            for m in said
            if m.group(0) not in STOP and SequenceMatcher(None, m.group(0), word).ratio() >= 0.6
        ]  # not "the": "on the end, s m y t h e
        if alike:
            last = alike[-1]
            out += before[: last.start()] + word + before[last.end() :]
        else:
            out += before + word
        at = match.end()
    return out + text[at:]


def letter_hint(text: str) -> tuple[tuple[str, str | None] | None, str]:
    """((letter, where: "end" | "start" | None), `text` without the hint), from
    normalized words; (None, text) when no letter is named."""
    match = _HINT.search(text)
    if not match:
        return None, text
    letter = LETTER_NAMES.get(match.group("letter"), match.group("letter"))
    where = {"end": "end", "start": "start", "beginning": "start"}.get(match.group("where") or "")
    return (letter, where), (text[: match.start()] + " " + text[match.end() :]).strip()


def apply_letter(word: str, letter: str, where: str | None) -> str:
    """`word` with `letter` where a transcript likely mixed it up ("gonzalez" with an s:
    "gonzales"); unchanged when it already has it there or nothing is confusable."""
    if not word:
        return word
    if where == "end":
        return word if word.endswith(letter) else word[:-1] + letter
    if where == "start":
        return word if word.startswith(letter) else letter + word[1:]
    if letter in word:
        return word
    for confused in _CONFUSED.get(letter, ""):
        at = word.rfind(confused)
        if at >= 0:
            return word[:at] + letter + word[at + 1 :]
    return word

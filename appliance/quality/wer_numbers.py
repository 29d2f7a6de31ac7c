"""Number words as digits, for the WER normaliser (appliance/quality/wer_text.py).

The normaliser spells every number digit by digit, so only the value of each number said
matters here, not how it is grouped: "nineteen eighty two" gives "19" "82" (-> 1 9 8 2,
as "1982" does), "two thousand and five" "2005", "twenty first" "21", "oh four" "04".
A small grammar of its own: appliance/scheduling/spoken.py reads numbers for the
workflows, but post-call quality must not import the agent plane (tests/unit/
test_layering.py), and WER needs less (no ordinal suffixes, no dates).
"""

from __future__ import annotations

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "tenth": 10,
    "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "twentieth": 20, "thirtieth": 30, "fortieth": 40,
    "fiftieth": 50, "sixtieth": 60, "seventieth": 70, "eightieth": 80, "ninetieth": 90,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1000, "hundredth": 100, "thousandth": 1000}
ZEROS = ("oh", "o")  # a zero only before a unit: "oh four", not "oh, april"
# "second" is a unit only after a tens word ("twenty second"), else the word
_AMBIGUOUS = {"second"}


def _small(words: list[str], i: int) -> tuple[str, int] | None:
    """A number below 100 at words[i] as digits and the next index; None if none."""
    w = words[i]
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if w in ZEROS and nxt in UNITS and nxt not in _AMBIGUOUS:
        return f"0{UNITS[nxt]}", i + 2
    if w in TENS:
        if nxt in UNITS and UNITS[nxt] > 0:
            return str(TENS[w] + UNITS[nxt]), i + 2
        return str(TENS[w]), i + 1
    if w in TEENS:
        return str(TEENS[w]), i + 1
    if w in UNITS and w not in _AMBIGUOUS:
        return str(UNITS[w]), i + 1
    return None


def _number(words: list[str], i: int) -> tuple[str, int] | None:
    """A number at words[i] with "hundred" / "thousand" ("two thousand and five")."""
    found = _small(words, i)
    if found is None:
        if words[i] in SCALES:  # "a hundred": the scale alone
            return str(SCALES[words[i]]), i + 1
        return None
    digits, j = found
    if digits.startswith("0"):
        return found
    value = int(digits)
    for scale in ("hundred", "thousand"):
        if j < len(words) and words[j] in (scale, scale + "th") and value < SCALES[scale]:
            value, j = value * SCALES[scale], j + 1
            k = j + 1 if j < len(words) and words[j] == "and" else j
            rest = _number(words, k) if k < len(words) else None
            if rest is not None and not rest[0].startswith("0") and int(rest[0]) < SCALES[scale]:
                value, j = value + int(rest[0]), rest[1]
    return str(value), j


def numerize(words: list[str]) -> list[str]:
    """`words` (lowercase) with each number said as one digit string."""
    out: list[str] = []
    i = 0
    while i < len(words):
        found = _number(words, i)
        if found is None:
            out.append(words[i])
            i += 1
        else:
            out.append(found[0])
            i = found[1]
    return out

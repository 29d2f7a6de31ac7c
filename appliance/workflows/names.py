"""A caller's name from an answer as Whisper writes it, carried across turns, corrected.

The answer to "may I have your full name and date of birth?" is often the name alone
("maria gonzalez", "uh it's maria gonzalez april fourth nineteen eighty two", "Gonzalez,
Maria"), sometimes half of it ("maria"), sometimes labelled ("my first name is maria and
last name gonzalez"). `heard_name` reads it without any model; words that are not
name-like (a stop list of common English words) make it refuse, so that a request is
never read as a name. `corrected` applies what a caller says to fix it ("no it's
gonzales with an s", "g o n z a l e s", "the last name is gonzales").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from appliance.scheduling.dates import MONTHS
from appliance.workflows.birth import SHORT_MONTHS, without_birth_date
from appliance.workflows.name_words import (
    CLAUSE,
    CORRECTING,
    INTROS,
    LEADING,
    ORGANISATION,
    PARTICLES,
    STOP,
    TAIL,
)
from appliance.workflows.names_spelling import (
    apply_letter,
    join_spelled,
    letter_hint,
    spelled_over,
)

Part = Literal["first", "last"]
_HYPHEN = "xqhyphenqx"  # keeps "smith-jones" one word through normalize()
_LABELS = {
    "first": r"\b(?:first|1st|given) name(?:'s| is)? (?:spelled )?([a-z'\-]+)",
    "last": r"\b(?:last|family) name(?:'s| is|s)? (?:spelled )?((?:(?:%s) )*[a-z'\-]+)"
    r"|\bsurname(?:'s| is)? (?:spelled )?((?:(?:%s) )*[a-z'\-]+)"
    r"|\b([a-z'\-]+) is (?:the|my|his|her) (?:last name|family name|family)\b",  # "nguyen is ..."
}


@dataclass(frozen=True, slots=True)
class HeardName:
    """A name as heard so far; either part may still be missing."""

    first: str | None = None
    last: str | None = None

    def merge(self, newer: HeardName | None) -> HeardName:
        """This name with what a later turn heard over it (the later turn wins)."""
        if newer is None:
            return self
        return HeardName(newer.first or self.first, newer.last or self.last)

    @property
    def complete(self) -> bool:
        return bool(self.first and self.last)

    @property
    def missing(self) -> Part | None:
        """The part still to ask for ("first" before "last"), or None when complete."""
        return "first" if not self.first else "last" if not self.last else None

    def pair(self) -> tuple[str, str] | None:
        return (self.first, self.last) if self.first and self.last else None


def title(word: str) -> str:
    """ "o'brien" -> "O'Brien", "smith-jones" -> "Smith-Jones", "de la cruz" -> "De La Cruz"."""
    titled = re.sub(r"(^|[\s'\-])([a-z])", lambda m: m.group(1) + m.group(2).upper(), word)
    return re.sub(r"\bMc([a-z])", lambda m: "Mc" + m.group(1).upper(), titled)  # McAllister


# a note on how the name is written, not a word of it: "mensah-bonsu, with a dash",
# "all one word" (an apostrophe is a letter: see names_spelling)
_MARK_NOTE = re.compile(
    r"\b(?:with|has|there's) (?:a |an )?(?:dash|hyphen|space)"
    r"(?: (?:in (?:the middle|between)|after the \w+))?\b|\b(?:all |as )?one word\b"
    r"|\bwith (?:a |an )?(?:capital|big|small|lower case|lowercase) [a-z]\b"
    r"|\b(?:and )?(?:it's |its )?spelled (?:like it sounds|the way it sounds|normal(?:ly)?"
    r"|the usual way|the regular way)\b"
    r"|\b(?:but )?(?:everybody|everyone|people|they all|most people) calls? (?:me|him|her) \w+\b"
    r"|\b(?:it's|its|that's|it is) (?:polish|italian|irish|german|greek|french|vietnamese|korean"
    r"|chinese|japanese|mexican|nigerian|spanish|portuguese|russian|ukrainian|arabic|indian)\b"
)


def _tokens(text: str) -> list[str]:
    """Normalized words, numbers in digits, dates of birth removed, hyphenated names kept."""
    t = _MARK_NOTE.sub(" ", spelled_over(text.lower()))
    t = re.sub(r"(?<=[a-z]{2})-(?=[a-z]{2})", _HYPHEN, t)
    words = [w.replace(_HYPHEN, "-") for w in without_birth_date(t).split()]
    return [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]  # "aisha, aisha"


def _once(words: list[str]) -> list[str]:
    """`words` with each word kept at its first place only ("katherine reilly, that's
    katherine": the name said twice)."""
    return [w for i, w in enumerate(words) if w not in words[:i]]


def _name_like(word: str) -> bool:
    if word.endswith("'s") and word[:-2] in STOP:
        return False  # "monday's best"
    return bool(re.fullmatch(r"[a-z]+(?:['\-][a-z]+)*", word)) and (
        len(word) >= 2 and word not in STOP
    )


def _run(words: list[str], i: int) -> list[str]:
    """The name-like words from words[i] on (five at most, particles included)."""
    run: list[str] = []
    while i + len(run) < len(words) and len(run) < 5:
        word, after = words[i + len(run)], words[i + len(run) + 1 : i + len(run) + 2]
        month = word in MONTHS or word.rstrip(".") in SHORT_MONTHS
        if month and after and (after[0][:1].isdigit() or after[0] == "the"):
            break  # "april 4th": a date, not April
        owner = word[:-2] if word.endswith("'s") and len(word) > 4 else None
        if owner and _name_like(owner):  # "emily zhang's checkup": the name ends there
            run.append(owner)
            break
        if not (_name_like(word) or (run and word in PARTICLES)):
            break
        run.append(word)
    while run and run[-1] in PARTICLES:
        run.pop()
    after = words[i + len(run) : i + len(run) + 1]
    return [] if after and after[0] in ORGANISATION else run  # "riverside family clinic"


def _from_run(run: list[str], raw: str, expect: Part) -> HeardName:
    if len(run) == 3 and run[0] == run[2] and run[1] != run[0]:
        run = run[1:]  # "collins patricia collins": the surname, then the whole name
    if len(run) == 1:
        return HeardName(**{expect: title(run[0])})
    if len(run) == 2 and re.search(rf"\b{run[0]}\s*,\s*{run[1]}\b", raw.lower()):
        return HeardName(title(run[1]), title(run[0]))  # "Gonzalez, Maria"
    particle = next((k for k in range(1, len(run)) if run[k] in PARTICLES), len(run) - 1)
    # "ana sofia ruiz": a middle name stays with the first (the matcher finds "Ana" in it);
    # "katherine riley ... reilly": a word the last one corrects is no middle name
    middle = [w for w in run[1:particle] if similarity(w, run[particle]) < 0.7]
    return HeardName(title(" ".join([run[0], *middle])), title(" ".join(run[particle:])))


def _intro_at(words: list[str], i: int) -> int:
    """How many words an intro ("my name is") takes at words[i]; 0 if none."""
    for intro in INTROS:
        if tuple(words[i : i + len(intro)]) == intro:
            return len(intro)
    return 0


def _labelled(t: str) -> HeardName | None:
    """ "my first name is maria and last name gonzalez", "the last name is gonzales"."""
    particles = "|".join(sorted(PARTICLES))
    first = re.search(_LABELS["first"], t)
    last = re.search(_LABELS["last"] % (particles, particles), t)
    first_said = first.group(1) if first and _name_like(first.group(1)) else None
    last_said = next((g for g in last.groups() if g), None) if last else None
    if last_said and not _name_like(last_said.split()[-1]):
        last_said = None
    if not (first_said or last_said):
        return None
    return HeardName(title(first_said) if first_said else None, title(last_said or "") or None)


def _marked(words: list[str], raw: str, expect: Part) -> HeardName | None:
    """A name after an intro anywhere ("... my name is maria gonzalez ..."); a comma
    ends the name ("my name is john smith, horn september 30": Whisper's "born")."""
    found = [
        _from_run(run, raw, expect)
        for clause in raw.split(",")
        for words in [_tokens(clause)]
        for i in range(len(words))
        if (taken := _intro_at(words, i)) and (run := _run(words, i + taken))
    ]  # "this is grace ..., her name is katherine reilly": the full name
    return next((n for n in found if n.complete), found[0] if found else None)


def _bare(words: list[str], raw: str, expect: Part) -> HeardName | None:
    """A name said alone, maybe with a date of birth, fillers and courtesy around it."""
    i = 0
    while i < len(words) and (words[i] in LEADING or _intro_at(words, i)):
        i += _intro_at(words, i) or 1
    run = _run(words, i)
    rest = words[i + len(run) :]
    tail_only = all(w in TAIL or re.fullmatch(r"\d+\w*|/", w) for w in rest)
    new_clause = len(run) >= 2 and bool(rest) and rest[0] in CLAUSE
    if not run or not (tail_only or new_clause):
        return None
    return _from_run(run, raw, expect)


def heard_name(text: str, expect: Part = "first") -> HeardName | None:
    """The name in an answer to "may I have your full name?", or None when the words are
    not a name. A single word is the `expect`ed part (the one the agent asked for); a
    spelling note after the name ("that's katherine with a k") is not part of it."""
    words = _tokens(text)
    t = " ".join(words)
    found = _labelled(t)
    if found is not None and not found.complete:
        found = _other_part(found, words, text)
    if found is None:
        found, bare = _marked(words, text, expect), _bare(words, text, expect)
        if found is None or (not found.complete and bare is not None and bare.complete):
            found = bare  # "it's aisha, aisha thompson": the whole name said after a part
    if found is None and (hint := letter_hint(t))[0] is not None:
        rest = _once(hint[1].split())  # "last name is spelled with an e, s m y t h e"
        found = _labelled(" ".join(rest)) or _bare(rest, text, expect)
    return found


def _other_part(found: HeardName, words: list[str], raw: str) -> HeardName:
    """A name with one part labelled, the other said around it: "my name is anh, ..., last
    name tran"; "tran thi lan, the family name is tran" (the family name said first);
    "wisniewski, w i s n i e w s k i, first name grzegorz" (the last name said first)."""
    if found.first is None and found.last is not None:
        last = found.last.lower()
        after = _run(words, words.index(last) + 1)[:2] if last in words else []
        if after and all(w != last for w in after):
            return HeardName(title(" ".join(after)), found.last)  # "tran thi lan"
        said = _marked(words, raw, "first")
        if said is not None and said.first and said.first != found.last:
            return HeardName(said.first, found.last)
    if found.last is None and found.first is not None:
        start = _run([w for w in words if w not in LEADING], 0)[:1]
        if start and start[0] != found.first.lower():
            return HeardName(found.first, title(start[0]))
    return found


def similarity(a: str, b: str) -> float:
    """0..1, letters only, any case."""
    a, b = re.sub(r"[^a-z]", "", a.lower()), re.sub(r"[^a-z]", "", b.lower())
    return SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def _target(word: str, current: HeardName) -> Part | None:
    """Which part a single corrected word replaces: the one it sounds like, else the
    missing one."""
    scores = {p: similarity(word, getattr(current, p) or "") for p in ("first", "last")}
    best: Part = "last" if scores["last"] >= scores["first"] else "first"
    if scores[best] >= 0.5:
        return best
    return current.missing


_CUE = re.compile(r"\bnot\b|\bspel(?:led|t|ling)\b")


def corrects(text: str) -> bool:
    """Whether `text` says how a name is written: spelled letters, "with an s", "not
    thomson", "it's spelled ..." (before any name was heard, only such words correct)."""
    t = text.lower()
    return bool(_CUE.search(t) or letter_hint(t)[0] or join_spelled(t) != t)


def corrected(text: str, current: HeardName) -> HeardName | None:
    """`current` as the caller corrects it, or None when `text` corrects nothing:
    "no it's gonzales with an s", "the last name is gonzales", "first name is marie",
    "g o n z a l e s", "that's gonzalez with a z at the end"."""
    hint, rest = letter_hint(" ".join(_tokens(text)))
    rest = re.sub(r"\bnot (?:an? )?[a-z'\-]+(?: [a-z'\-]+(?= [a-z]+ [a-z]+$))?", " ", rest)
    # "not gonzalez, gonzales"; "not john jones, john jonas"
    labelled = _labelled(rest)
    if labelled is not None:
        if not (current.first or current.last):  # "wisniewski, ..., first name grzegorz"
            labelled = _other_part(labelled, rest.split(), text)
        return current.merge(_hinted(labelled, hint))
    words = _once([w for w in rest.split() if w not in CORRECTING and w not in LEADING])
    run = _run(words, 0)
    if not all(w in TAIL for w in words[len(run) :]):
        return None
    if len(run) >= 2:
        return current.merge(_hinted(_from_run(run, text, "first"), hint))
    if run:
        part = _target(run[0], current)
        return current.merge(_hinted(HeardName(**{part: title(run[0])}), hint)) if part else None
    return _hint_only(current, hint)


def _hinted(name: HeardName | None, hint: tuple[str, str | None] | None) -> HeardName | None:
    """The last part said (last name before first) with a letter hint applied."""
    if name is None or hint is None:
        return name
    if name.last:
        return HeardName(name.first, title(apply_letter(name.last.lower(), *hint)))
    assert name.first is not None
    return HeardName(title(apply_letter(name.first.lower(), *hint)), None)


def _hint_only(current: HeardName, hint: tuple[str, str | None] | None) -> HeardName | None:
    """ "no, with an s": the letter fixes the last name, else the first."""
    if hint is None:
        return None
    for part in ("last", "first"):
        said = getattr(current, part)
        if said and (fixed := apply_letter(said.lower(), *hint)) != said.lower():
            return current.merge(HeardName(**{part: title(fixed)}))
    return None

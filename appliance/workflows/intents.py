"""What the caller asks for, read by rules: fast (well under a millisecond a line), the
same every time, and explainable line by line.

Each intent has phrase patterns with weights; a phrase with a negation just before it
("I don't need to cancel") counts for nothing. Emergencies and a wish for a person are
read first and always win: in a regulated setting a prompt is not a control. Among the
rest the highest score wins; `margin` says how clear the win was, so the understander
can ask the LLM when the rules are unsure. A line with no request in it but with
details (a name, a date, a yes) is `inform`: the caller is answering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.llm.understanding import Intent
from appliance.workflows.intent_phrases import EMERGENCY, NEGATED, NOT_A_MACHINE, PERSON, TABLE
from appliance.workflows.wording import normal

_NEGATED = re.compile(NEGATED)

_COMPILED = {intent: [(re.compile(p), w) for p, w in rows] for intent, rows in TABLE.items()}
# each danger phrase from a word's start: not "end it" in "send it"
_EMERGENCY_RE, _PERSON_RE = re.compile(rf"\b(?:{EMERGENCY})"), re.compile(PERSON)
_NOT_A_MACHINE = re.compile(NOT_A_MACHINE)
SAFETY_WEIGHT = 10.0
SAFE = (Intent.EMERGENCY, Intent.SPEAK_TO_PERSON)


@dataclass(frozen=True, slots=True)
class Reading:
    """The rules' reading of one line: the intent, its score and how clear it was."""

    intent: Intent
    score: float  # the winner's summed weights (0: no request heard)
    margin: float  # winner minus runner-up
    runner_up: Intent | None
    text: str  # the normalised words


# a danger sign that is over: "the pain is gone now", "fainted last week, she's okay now"
_OVER = re.compile(
    r"^\s*(?:is |has |was |had )?(?:gone|went away|better|resolved|passed"
    r"|over(?! (?:the|a|an|his|her|my|their|in|on|onto|to)\b))"  # not "slumped over the table"
    r"|^.{0,60}\b(?:last (?:week|weekend|month|year)"
    r"|(?:she's|he's|i'm|it's|they're) (?:okay|ok|fine|better) now|turned out to be)\b"
)
TASKS = (Intent.BOOK, Intent.RESCHEDULE, Intent.CANCEL, Intent.APPOINTMENT_STATUS,
         Intent.REFILL, Intent.BILLING, Intent.TEST_RESULTS)  # fmt: skip


def _unnegated(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `pattern` occurs somewhere in `text` without a negation just before it."""
    return _first(pattern, text) is not None


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    """Where `pattern` first occurs in `text` without a negation just before it."""
    return next(
        (m.start() for m in pattern.finditer(text) if not _NEGATED.search(text[: m.start()])), None
    )


def _emergency(text: str) -> bool:
    """A danger sign said now: not negated ("no chest pain"), not over ("the pain in my
    chest is gone now")."""
    return any(
        not _NEGATED.search(text[: m.start()]) and not _OVER.search(text[m.end() :])
        for m in _EMERGENCY_RE.finditer(text)
    )


def scores(text: str) -> dict[Intent, float]:
    """Each intent's score for the normalised `text` (0 when none of its phrases is said)."""
    found: dict[Intent, float] = {}
    if _emergency(text):
        found[Intent.EMERGENCY] = SAFETY_WEIGHT
    if _unnegated(_PERSON_RE, text) or _NOT_A_MACHINE.search(text):
        found[Intent.SPEAK_TO_PERSON] = SAFETY_WEIGHT / 2
    for intent, rows in _COMPILED.items():
        total = sum(weight for pattern, weight in rows if _unnegated(pattern, text))
        if total:
            found[intent] = total
    info = found.get(Intent.CLINIC_INFO, 0.0)
    if 0 < info < 4.0 and any(found.get(t, 0) >= 2.5 for t in TASKS):
        found[Intent.CLINIC_INFO] /= 2  # "book a physical, and do I need to fast": the task
    return found


def _mentioned(intent: Intent, text: str) -> int:
    """Where the caller first asked for `intent` (the main request of a run-on comes
    first: "book a physical, and do I need to fast?")."""
    found = [_first(p, text) for p, _ in _COMPILED.get(intent, [])]
    return min((f for f in found if f is not None), default=len(text))


def read(text: str) -> Reading:
    """The rules' reading of the caller's words (`text` as transcribed); of two requests
    scored within one point, the one said first."""
    words = normal(text)
    ranked = sorted(scores(words).items(), key=lambda item: -item[1])
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < 1.0 and ranked[0][0] not in SAFE:
        first_two = sorted(ranked[:2], key=lambda item: _mentioned(item[0], words))
        ranked = [*first_two, *ranked[2:]]
    if not ranked:
        return Reading(Intent.OTHER, 0.0, 0.0, None, words)
    (best, top), rest = ranked[0], ranked[1:]
    second = rest[0] if rest else (None, 0.0)
    return Reading(best, top, abs(top - second[1]), second[0], words)

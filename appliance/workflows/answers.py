"""Yes, no or unclear: the one reading of a caller's answer to a yes/no question.

Every confirmation goes through `classify()` (booking, rescheduling, cancelling, taking a
message). Conservative by design: a yes word that is negated ("not correct", "isn't
right") counts as a no; doubt, a condition, a correction or a question ("wait", "but",
"I mean", "maybe", "?") makes the answer unclear whatever else was said; and an answer
with both a yes and a no in it is unclear. Only an unmixed yes is YES.
"""

from __future__ import annotations

import enum
import re


class Answer(enum.Enum):
    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"


_NEGATIONS = r"not|never|cannot|(?:do|does|did|is|are|was|were|wo|would|ca|could|should|ai)n'?t"
# doubt, conditions, corrections, questions and idioms that read either way
_UNSURE = re.compile(
    r"\b(?:wait|hold on|hang on|(?<!mm )hmm+|maybe|perhaps|not sure|unsure|i mean|actually|but"
    r"|i guess|let me think|don'?t know|dunno|depends|(?:don'?t|wouldn'?t) mind"
    r"|no problem|no worries|why not|what)\b"
)
# a yes word negated ("not correct", "isn't quite right"): a no, not a yes
_NEGATED_YES = re.compile(
    rf"\b(?:{_NEGATIONS})\s+(?:(?:quite|really|very|that|it|so|all)\s+)?"
    r"(?:correct|right|ok(?:ay)?|fine|good|sure|true|great|perfect)\b"
)
_NO = re.compile(rf"\b(?:no|nope|nah|negative|wrong|incorrect|leave it|{_NEGATIONS})\b")
_YES = re.compile(
    r"\b(?:yes|yeah|yea|yep|yup|sure|correct|absolutely|definitely|certainly|of course"
    r"|ok(?:ay)?|all ?right|please do|go ahead|sounds good|that works|works for me|perfect"
    r"|great|affirmative|i would|i'?d like|i'?d love|(?:that'?s|that is) (?:right|fine|good|grand)"
    r"|si|correcto|claro"
    r"|mm+ ?hm+|uh ?huh|mhm)\b"
    r"|^(?:right|fine)$"
)


_LEADING_NO = re.compile(r"(?:no|nope|nah)\b(?! (?:problem|worries))")


def _normal(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def classify(text: str) -> Answer:
    """YES only for an unmixed, unhedged yes; NO for an unmixed no; else UNCLEAR."""
    if "?" in text:
        return Answer.UNCLEAR
    words = _normal(text)
    if not words:
        return Answer.UNCLEAR
    if _UNSURE.search(words):
        # "no, actually leave it": a no said first, with no yes after it, is a no (a no
        # changes nothing); any other doubt leaves the answer unclear
        leading_no = _LEADING_NO.match(words) and not _YES.search(words)
        return Answer.NO if leading_no else Answer.UNCLEAR
    negated = bool(_NEGATED_YES.search(words))
    rest = _NEGATED_YES.sub(" ", words)
    no = negated or bool(_NO.search(rest))
    yes = bool(_YES.search(rest))
    if yes and not no:
        return Answer.YES
    if no and not yes:
        return Answer.NO
    return Answer.UNCLEAR


def without_yes(text: str) -> str:
    """`text` less its yes words (what is left may already be a message)."""
    return _YES.sub(" ", _normal(text))

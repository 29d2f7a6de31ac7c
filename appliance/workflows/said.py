"""The details in a caller's words, read by the code's own parsers (never by the LLM):
a name, a date of birth, a day and time, a provider, an appointment type, a KB topic and
a yes or no.

Providers, appointment types and topics come from the clinic's own data (`Vocabulary`),
matched on the normalised words with a little tolerance for Whisper's spelling
("doctor alvares" is Doctor Alvarez). A small model fills slots nobody said; these
parsers only read what is there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from rapidfuzz import fuzz

from appliance.scheduling.dates import Resolved
from appliance.scheduling.matching import part_score, phonetic_key
from appliance.scheduling.model import AppointmentType, Provider
from appliance.workflows.answers import Answer, classify
from appliance.workflows.identity import birth_date
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.names import heard_name
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.names_spelling import letter_hint
from appliance.workflows.when import when_wanted
from appliance.workflows.wording import normal

# what callers call each kind of visit, by words in the type's id or name
_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "physical": ("physical", "annual exam", "yearly exam", "wellness", "annual checkup",
                 "fiscal", "my annual", "annual visit", "annual appointment"),
    "checkup": ("checkup", "routine visit", "regular visit", "well child", "well baby",
                "well check", "well visit"),
    "sick": ("sick visit", "sick appointment"),
    "follow": ("followup", "recheck"),
    "consult": ("consultation", "consult", "second opinion"),
}  # fmt: skip
# a provider asked for by what they do: only where one provider has that specialty
_SPECIALTY_WORDS = {
    "dermatolog": r"\bskin (?:doctor|specialist)|\bdermatologist",
    "pediatric": r"\b(?:children's|childrens|child's|kids|kid's|baby) doctor|\bp(?:a)?ediatrician",
}  # fmt: skip
_TITLE = re.compile(r"\b(?:doctor|dr|doc|nurse practitioner|np)\b")
_CORRECTION = re.compile(r"\b(?:actually|i mean|i meant|no|sorry|rather|make (?:it|that))\b")
_AFTER_TITLE = re.compile(r"\b(?:doctor|dr|doc) ([a-z']{2,})\b")
_EITHER_DOCTOR = re.compile(r"\b(?:(?:doctor|dr) )?([a-z']+) or (?:doctor |dr )?([a-z']+)\b")
_SEEING = re.compile(r"\b(?:appointment|visit|checkup|physical|consult\w*|in) with [a-z]{4,}\b")
_MOVED_TO = re.compile(r"\b(?:to|over to|switch to|change to) (?:doctor|dr|doc) \w+")
_AFTER_TITLE_TWO = re.compile(r"\b(?:doctor|dr|doc) ([a-z']{2,}) ([a-z']{2,})\b")


def _alike(name: str, word: str) -> float:
    """0..100: letters alike, or the same sound ("lea" for Lee)."""
    return max(fuzz.ratio(name, word), 100 * part_score(word, name))


def _after_title(name: str, words: str, first: str | None = None) -> float:
    """90 when the word said right after a title sounds like `name` ("doctor leigh",
    "doctor lea" for Lee: too few letters alike for `_alike`) or is the provider's `first`
    name ("doctor grace", as families call a pediatrician), else 0."""
    said = [m.group(1) for m in _AFTER_TITLE.finditer(words)]
    if first and any(
        fuzz.ratio(first, w) >= 90 or phonetic_key(w) == phonetic_key(first) for w in said
    ):
        return 90.0
    return 90.0 if any(phonetic_key(w) == phonetic_key(name) for w in said) else 0.0


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The clinic's own words: its providers, appointment types and knowledge base."""

    providers: tuple[Provider, ...] = ()
    types: tuple[AppointmentType, ...] = ()
    kb: KnowledgeBase | None = None

    def provider(self, words: str) -> str | None:
        """The provider named in `words` (normalised): by last name, fuzzily, or Whisper's
        split of it ("oka for"); not the one of "instead of doctor alvarez"; else the only
        provider of a specialty said ("the skin doctor")."""
        words = re.sub(r"\b(?:instead of|not) (?:with )?(?:doctor |doc |dr )?\w+", " ", words)
        moved = _MOVED_TO.search(words)  # "move my physical with alvarez to doctor lee"
        words = words[moved.start() :] if moved else words
        either = _EITHER_DOCTOR.search(words)
        if either and len({self._by_name(w, w.split()) for w in either.groups()} - {None}) > 1:
            return None  # "doctor patel or doctor alvarez": not chosen
        joined = [a + b for a, b in _AFTER_TITLE_TWO.findall(words)]
        return self._by_name(words, words.split() + joined) or self._by_specialty(words)

    def _by_specialty(self, words: str) -> str | None:
        for specialty, said in _SPECIALTY_WORDS.items():
            if re.search(said, words):
                found = [p.id for p in self.providers if specialty in p.specialty.lower()]
                return found[0] if len(found) == 1 else None
        return None

    def _by_name(self, words: str, tokens: list[str]) -> str | None:
        # a title, or "with"/"see" right before the word, makes a near miss count
        titled = bool(_TITLE.search(words) or _SEEING.search(words))
        best: tuple[float, str] | None = None
        for p in self.providers:
            parts = [w for w in normal(p.name).split() if w not in ("doctor", "dr")]
            if not parts:
                continue
            last = parts[-1]
            cutoff = 80 if titled else 92
            score = max((_alike(last, t) for t in tokens if len(t) >= 3), default=0)
            score = max(score, _after_title(last, words, parts[0] if len(parts) > 1 else None))
            if score >= cutoff and (best is None or score > best[0]):
                best = (score, p.id)
        return best[1] if best else None

    def appointment_type(self, words: str) -> str | None:
        """The appointment type meant in `words`, by the type's name or a caller's word;
        of two, the one said after a correction ("a checkup, well actually a physical")."""
        said: list[tuple[int, str]] = []
        for t in self.types:
            keys = {normal(t.name), normal(t.id.replace("-", " "))}
            for stem, words_for in _TYPE_WORDS.items():
                if stem in t.id or stem in normal(t.name):
                    keys.update(words_for)
            at = [
                m.start() for k in keys if k for m in re.finditer(rf"\b{re.escape(k)}s?\b", words)
            ]
            if at:
                said.append((min(at), t.id))
        if not said:
            return None
        first, last = min(said), max(said)
        if first[1] != last[1] and _CORRECTION.search(words, first[0], last[0]):
            return last[1]
        return said[0][1]

    def topic(self, words: str) -> tuple[str | None, int]:
        """The KB topic `words` ask about, and how much of the KB's keywords they say."""
        found, score = self.kb.scored(words) if self.kb else (None, 0)
        return (found.id if found else None), score


@dataclass(frozen=True, slots=True)
class Said:
    """The details heard in one turn (PHI: name and birth date)."""

    name: tuple[str, str] | None = None
    dob: date | None = None
    when: Resolved = field(default_factory=lambda: Resolved(None, None, None))
    provider: str | None = None
    appointment_type: str | None = None
    topic: str | None = None
    topic_score: int = 0  # letters of the topic's keywords heard ("car" 3, "parking" 7)
    answer: Answer = Answer.UNCLEAR
    bare_name: bool = False  # the words are a full name alone ("maria gonzalez")
    part_name: bool = False  # one part of a name given ("last name's reilly")
    choice: bool = False  # a pick among offers: "the first one", "either is fine"
    spelled: bool = False  # letters spelled out: "g o n z a l e z", or "with a k"

    @property
    def has_when(self) -> bool:
        return self.when.said

    @property
    def details(self) -> bool:
        """Whether the turn carries anything a flow can use."""
        heard = (self.name, self.dob, self.provider, self.appointment_type)
        return (
            any(heard)
            or self.has_when
            or self.bare_name
            or self.part_name
            or self.choice
            or (self.answer != Answer.UNCLEAR)
        )

    def spoken(self) -> dict[str, str]:
        """The details as text (for the handoff packet; PHI)."""
        w = self.when
        found = {
            "patient_name": " ".join(self.name) if self.name else None,
            "date_of_birth": self.dob.isoformat() if self.dob else None,
            "date": w.day.isoformat() if w.day else None,
            "time": w.at.strftime("%H:%M") if w.at else w.part_of_day,
            "provider": self.provider,
            "appointment_type": self.appointment_type,
            "topic": self.topic,
        }
        return {k: v for k, v in found.items() if v}


_CHOICE = re.compile(
    r"\b(?:first|second|third|last|earlier|earliest|later|latest|other) one\b|\beither\b"
    r"|\bwhichever\b|\bany of (?:them|those)\b|\bthe (?:first|second|earlier|later)\b"
    r"|\bthe (?:earliest|soonest) (?:you|one)\b",
    re.I,
)
_SPELLED = re.compile(r"\b(?:[a-z] ){2,}[a-z]\b")


def read_details(text: str, vocabulary: Vocabulary, now: datetime) -> Said:
    """Every detail in the caller's words `text`, relative to `now` (clinic time)."""
    words = normal(text)
    introduced = introduced_name(text)
    own = normal(" ".join(introduced.pair() or ())) if introduced else ""
    named = words.replace(own, " ") if own else words  # "my name is neha patel": no provider
    dob = birth_date(text, now.date())
    topic, topic_score = vocabulary.topic(words)
    return Said(
        name=introduced.pair() if introduced else None,
        part_name=introduced is not None and not introduced.complete,
        dob=dob,
        when=when_wanted(text, now, dob),
        provider=vocabulary.provider(named),
        appointment_type=vocabulary.appointment_type(words),
        topic=topic,
        topic_score=topic_score,
        answer=classify(text),
        choice=bool(_CHOICE.search(words)) and len(words.split()) <= 8,
        spelled=bool(_SPELLED.search(words) or letter_hint(words)[0]),  # or "with a k"
        bare_name=len(words.split()) <= 6
        and (bare := heard_name(text)) is not None
        and bare.complete,
    )

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

from appliance.scheduling.dates import Resolved, resolve
from appliance.scheduling.matching import part_score
from appliance.scheduling.model import AppointmentType, Provider
from appliance.workflows.answers import Answer, classify
from appliance.workflows.identity import birth_date, without_birth_date
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.names import heard_name, introduced_name
from appliance.workflows.wording import normal

# what callers call each kind of visit, by words in the type's id or name
_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "physical": ("physical", "annual exam", "yearly exam", "wellness", "annual checkup"),
    "checkup": ("checkup", "routine visit", "regular visit"),
    "sick": ("sick visit", "sick appointment"),
    "follow": ("followup", "recheck"),
    "consult": ("consultation", "consult", "second opinion"),
}  # fmt: skip
_TITLE = re.compile(r"\b(?:doctor|dr|doc|nurse practitioner|np)\b")


def _alike(name: str, word: str) -> float:
    """0..100: letters alike, or the same sound ("lea" for Lee)."""
    return max(fuzz.ratio(name, word), 100 * part_score(word, name))


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The clinic's own words: its providers, appointment types and knowledge base."""

    providers: tuple[Provider, ...] = ()
    types: tuple[AppointmentType, ...] = ()
    kb: KnowledgeBase | None = None

    def provider(self, words: str) -> str | None:
        """The provider named in `words` (normalised): by last name, fuzzily."""
        tokens = words.split()
        titled = bool(_TITLE.search(words))
        best: tuple[float, str] | None = None
        for p in self.providers:
            parts = [w for w in normal(p.name).split() if w not in ("doctor", "dr")]
            if not parts:
                continue
            last = parts[-1]
            cutoff = 80 if titled else 92
            score = max((_alike(last, t) for t in tokens if len(t) >= 3), default=0)
            if score >= cutoff and (best is None or score > best[0]):
                best = (score, p.id)
        return best[1] if best else None

    def appointment_type(self, words: str) -> str | None:
        """The appointment type meant in `words`, by the type's name or a caller's word."""
        for t in self.types:
            keys = {normal(t.name), normal(t.id.replace("-", " "))}
            for stem, said in _TYPE_WORDS.items():
                if stem in t.id or stem in normal(t.name):
                    keys.update(said)
            if any(re.search(rf"\b{re.escape(k)}\b", words) for k in keys if k):
                return t.id
        return None

    def topic(self, words: str) -> str | None:
        found = self.kb.match(words) if self.kb else None
        return found.id if found else None


@dataclass(frozen=True, slots=True)
class Said:
    """The details heard in one turn (PHI: name and birth date)."""

    name: tuple[str, str] | None = None
    dob: date | None = None
    when: Resolved = field(default_factory=lambda: Resolved(None, None, None))
    provider: str | None = None
    appointment_type: str | None = None
    topic: str | None = None
    answer: Answer = Answer.UNCLEAR
    bare_name: bool = False  # the words are a full name alone ("maria gonzalez")
    choice: bool = False  # a pick among offers: "the first one", "either is fine"

    @property
    def has_when(self) -> bool:
        w = self.when
        return any((w.day, w.at, w.part_of_day, w.after))

    @property
    def details(self) -> bool:
        """Whether the turn carries anything a flow can use."""
        heard = (self.name, self.dob, self.provider, self.appointment_type)
        return (
            any(heard)
            or self.has_when
            or self.bare_name
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


# not days or times: "the first one", "my first appointment", "good morning"
_NOT_WHEN = re.compile(
    r"\b(?:first|second|third|last|earlier|later|next|other)\s+(?:one|ones|available"
    r"|appointment|visit|time|opening|doctor)\b|\bgood\s+(?:morning|afternoon|evening)\b",
    re.I,
)
_CHOICE = re.compile(
    r"\b(?:first|second|third|last|earlier|earliest|later|latest|other) one\b|\beither\b"
    r"|\bwhichever\b|\bany of (?:them|those)\b|\bthe (?:first|second|earlier|later)\b",
    re.I,
)
_FROM_TO = re.compile(r"\bfrom\b.+?\bto\b(?P<new>.+)$|\binstead of\b.+$", re.I)


def _when_part(text: str) -> str:
    """The words that say when: the new day of "from wednesday to thursday", without
    ordinals of choice and greetings; plural parts of day as one ("mornings")."""
    text = without_birth_date(_NOT_WHEN.sub(" ", text))
    moved = _FROM_TO.search(text)
    if moved:
        text = moved.group("new") if moved.group("new") else text[: moved.start()]
    return re.sub(r"\b(morning|afternoon|evening)s\b", r"\1", text, flags=re.I)


# what comes after one of these is the day the caller wants now ("tuesday doesn't work,
# can i have wednesday instead"); the day before it is the one they have
_THEN = re.compile(
    r"\b(?:but|instead|i'd like|i would like|can i have|could i have|put it back to"
    r"|move it to|change it to|to the)\b",
    re.I,
)
_TODAY = re.compile(r"\bthis (?:morning|afternoon|evening)\b|\btonight\b", re.I)


def _when(text: str, now: datetime, dob: date | None) -> Resolved:
    """The day and time the caller wants: after the last turn of phrase that says
    "instead" when one follows it; "this afternoon" is today; a date of birth is not
    a day (a two-digit year can leave it in the words)."""
    spoken = _when_part(text)
    marks = list(_THEN.finditer(spoken))
    when = resolve(spoken, now)
    if marks:
        later = resolve(spoken[marks[-1].end() :], now)
        if any((later.day, later.at, later.part_of_day, later.after)):
            when = later
    day = when.day
    if day is None and _TODAY.search(spoken):
        day = now.date()
    if dob is not None and day is not None and (day.month, day.day) == (dob.month, dob.day):
        day = None
    return Resolved(day, when.at, when.part_of_day, when.after)


def read_details(text: str, vocabulary: Vocabulary, now: datetime) -> Said:
    """Every detail in the caller's words `text`, relative to `now` (clinic time)."""
    words = normal(text)
    introduced = introduced_name(text)
    dob = birth_date(text, now.date())
    return Said(
        name=introduced.pair() if introduced else None,
        dob=dob,
        when=_when(text, now, dob),
        provider=vocabulary.provider(words),
        appointment_type=vocabulary.appointment_type(words),
        topic=vocabulary.topic(words),
        answer=classify(text),
        choice=bool(_CHOICE.search(words)) and len(words.split()) <= 8,
        bare_name=len(words.split()) <= 6
        and (bare := heard_name(text)) is not None
        and bare.complete,
    )

"""Understanding one caller turn: the rules' intent, the parsers' details, and the LLM
only where the rules are unsure.

`llm_when` (setting `[workflows] llm_intents`):
- "tie": the rules heard two requests about equally (margin under `TIE_MARGIN`); the
  model picks one of those two, or the rules' first stands;
- "unmatched": as "tie", and also lines where the rules heard no request and no detail
  (on a GPU host, where the model answers in tens of milliseconds);
- "never": the rules alone.
Emergencies and a wish for a person are never put to the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from appliance.llm.understanding import Intent, LlmIntents
from appliance.workflows.intents import Reading, read
from appliance.workflows.said import Said, Vocabulary, read_details

logger = logging.getLogger(__name__)

LlmWhen = Literal["never", "tie", "unmatched"]
TIE_MARGIN = 1.0  # rule score points between the first and the second intent
SAFETY = (Intent.EMERGENCY, Intent.SPEAK_TO_PERSON)
MIN_TOPIC_SCORE = 5  # a KB keyword alone makes a clinic question when it is this specific


@dataclass(frozen=True, slots=True)
class Understanding:
    intent: Intent
    said: Said
    wants_human: bool
    confidence: float  # 0..1
    source: str  # "rules" | "llm"


def _confidence(reading: Reading) -> float:
    """From the rules' score and margin: one clear phrase is 0.8, a tie 0.5."""
    if reading.score <= 0:
        return 0.2
    return round(min(1.0, 0.5 + 0.3 * min(reading.margin, reading.score) / TIE_MARGIN / 2), 2)


# a visit named with its day, time or doctor and no request word: a booking at the start
# of a call, but below the engine's CLEAR, so that inside a flow it is read as an answer
VISIT_ASKED = 0.5


def _visit_asked(said: Said) -> bool:
    return said.appointment_type is not None and (said.has_when or said.provider is not None)


class Understander:
    def __init__(self, llm: LlmIntents | None = None, llm_when: LlmWhen = "tie") -> None:
        self._llm = llm if llm_when != "never" else None
        self._when = llm_when
        self.vocabulary = Vocabulary()

    async def understand(self, text: str, now: datetime) -> Understanding:
        reading = read(text)
        said = read_details(text, self.vocabulary, now)
        if reading.intent in SAFETY:
            wants = reading.intent == Intent.SPEAK_TO_PERSON
            return Understanding(reading.intent, said, wants, 1.0, "rules")
        if reading.intent == Intent.CLINIC_INFO and said.dob is not None and "?" not in text:
            return Understanding(Intent.INFORM, said, False, 0.7, "rules")  # a birth date given
        if reading.score > 0 and reading.margin >= TIE_MARGIN:
            return Understanding(reading.intent, said, False, _confidence(reading), "rules")
        if reading.score > 0:
            return await self._tie(reading, said, text)
        if _visit_asked(said):  # "checkup with alvarez the 22nd in the morning"
            return Understanding(Intent.BOOK, said, False, VISIT_ASKED, "rules")
        if said.details or said.spelled:  # "k o w a l c z y k": a name spelled out
            return Understanding(Intent.INFORM, said, False, 0.7, "rules")
        if said.topic and said.topic_score >= MIN_TOPIC_SCORE:  # "parking?" is a question
            return Understanding(Intent.CLINIC_INFO, said, False, 0.7, "rules")
        if self._llm is not None and self._when == "unmatched":
            asked = await self._llm.intent(text)
            if asked is not None:
                return Understanding(asked, said, False, 0.5, "llm")
        return Understanding(Intent.OTHER, said, False, 0.2, "rules")

    async def _tie(self, reading: Reading, said: Said, text: str) -> Understanding:
        """Two intents heard about equally: the model may pick between those two."""
        candidates = (reading.intent, reading.runner_up)
        asked = await self._llm.intent(text) if self._llm is not None else None
        if asked is not None and asked in candidates:
            return Understanding(asked, said, False, 0.6, "llm")
        return Understanding(reading.intent, said, False, _confidence(reading), "rules")

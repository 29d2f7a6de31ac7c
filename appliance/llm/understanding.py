"""Understanding one caller turn: intent, slots, wish for a human, confidence.

One LLM request per turn returns JSON constrained by a schema (the server's structured
output), validated here; invalid output is retried once, then keyword rules decide.
Emergencies and requests for a person are detected by rules first and always win:
in a regulated setting a prompt is not a control.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from appliance.domain import ChatMessage
from appliance.errors import ChatModelError

logger = logging.getLogger(__name__)


class Intent(enum.StrEnum):
    BOOK = "book"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    APPOINTMENT_STATUS = "appointment_status"
    CLINIC_INFO = "clinic_info"
    REFILL = "refill"
    BILLING = "billing"
    TEST_RESULTS = "test_results"
    SPEAK_TO_PERSON = "speak_to_person"
    EMERGENCY = "emergency"
    GOODBYE = "goodbye"
    OTHER = "other"


class Slots(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """What the caller said, copied verbatim (dates and times are resolved in code)."""

    patient_name: str | None = None
    date_of_birth: str | None = None
    date: str | None = None
    time: str | None = None
    provider: str | None = None
    appointment_type: str | None = None
    reason: str | None = None
    topic: str | None = None


class LlmAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    intent: Intent
    slots: Slots
    wants_human: bool
    confidence: float


class Understanding(msgspec.Struct, frozen=True):
    intent: Intent
    slots: Slots
    wants_human: bool
    confidence: float  # 0..1
    source: str  # "llm" | "rules"


_STRING_OR_NULL = {"type": ["string", "null"]}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": [i.value for i in Intent]},
        "slots": {
            "type": "object",
            "properties": {name: _STRING_OR_NULL for name in Slots.__struct_fields__},
            "additionalProperties": False,
        },
        "wants_human": {"type": "boolean"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["intent", "slots", "wants_human", "confidence"],
    "additionalProperties": False,
}

SYSTEM = (
    "You classify what a patient says on the phone to a clinic. Answer with JSON only.\n"
    "Intents, with examples:\n"
    "- book: a new appointment. 'I'd like to make an appointment', 'can I see the doctor'\n"
    "- reschedule: move an existing appointment. 'can we move my visit to Monday'\n"
    "- cancel: cancel an appointment. 'I need to cancel on Friday'\n"
    "- appointment_status: ONLY when asking when their own appointment is. "
    "'when is my next appointment'\n"
    "- clinic_info: opening hours, address, parking, insurance, holidays, preparation. "
    "'what time do you open', 'where do I park', 'do you take Aetna'\n"
    "- refill: prescription or medication refill. 'I need more of my pills'\n"
    "- billing: bills, charges, payments. 'question about my bill'\n"
    "- test_results: lab or test results. 'are my blood tests back'\n"
    "- speak_to_person: wants a human. 'let me talk to someone'\n"
    "- emergency: urgent medical danger.\n"
    "- goodbye: ending the call. 'that's all, bye'\n"
    "- other: anything else.\n"
    "slots: copy the caller's own words for patient_name, date_of_birth, date, time, "
    "provider, appointment_type, reason, topic; null when not said; never compute or "
    "invent dates. wants_human is true only if the caller asks for a person. confidence "
    "is how sure you are, from 0 to 1."
)

_EMERGENCY = re.compile(
    r"chest pain|can'?t breathe|cannot breathe|not breathing|trouble breathing|"
    r"suicid|kill myself|overdos|stroke|unconscious|bleeding (a lot|heavily|badly)|"
    r"heart attack|seizure|severe allergic",
    re.IGNORECASE,
)
_HUMAN = re.compile(
    r"\b(real person|human|a person|someone real|receptionist|front desk|operator|"
    r"representative|speak to (someone|somebody|a nurse|the doctor|staff)|talk to "
    r"(someone|somebody|a nurse|staff))\b",
    re.IGNORECASE,
)
_RULES: list[tuple[Intent, re.Pattern[str]]] = [
    (Intent.GOODBYE, re.compile(r"\b(good\s?-?bye|bye|that'?s all)\b", re.I)),
    (Intent.CANCEL, re.compile(r"\bcancel", re.I)),
    (Intent.RESCHEDULE, re.compile(r"\b(reschedul|move|change|push back)", re.I)),
    (Intent.REFILL, re.compile(r"\b(refill|prescription|medication|pills)\b", re.I)),
    (Intent.TEST_RESULTS, re.compile(r"\b(results?|lab|blood test)\b", re.I)),
    (Intent.BILLING, re.compile(r"\b(bill|billing|invoice|payment|charge|copay)\b", re.I)),
    (Intent.APPOINTMENT_STATUS, re.compile(r"when is my appointment|my next appointment", re.I)),
    (Intent.BOOK, re.compile(r"\b(book|appointment|schedule|see (a|the) doctor|visit)\b", re.I)),
    (Intent.CLINIC_INFO, re.compile(
        r"\b(hours|open|close|parking|park|address|where are you|insurance|holiday)", re.I)),
]  # fmt: skip


_PERSONISH = re.compile(
    r"\b(person|people|someone|somebody|human|staff|nurse|doctor|receptionist|desk|"
    r"operator|agent|representative|talk|speak|transfer|connect)\b",
    re.IGNORECASE,
)


def _corroborated(answer: LlmAnswer, text: str, rules: Understanding) -> LlmAnswer:
    """A wish for a human needs some word for one in the caller's words: a small model
    otherwise hands plain requests ("cancel my appointment") to the front desk."""
    if _PERSONISH.search(text) or not (
        answer.wants_human or answer.intent == Intent.SPEAK_TO_PERSON
    ):
        return answer
    intent = rules.intent if answer.intent == Intent.SPEAK_TO_PERSON else answer.intent
    return LlmAnswer(intent, answer.slots, False, answer.confidence)


class JsonChat(Protocol):
    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str
    ) -> str: ...


def by_rules(text: str) -> Understanding:
    """Keyword rules: the fallback, and the authority for emergencies and humans."""
    if _EMERGENCY.search(text):
        return Understanding(Intent.EMERGENCY, Slots(), False, 1.0, "rules")
    if _HUMAN.search(text):
        return Understanding(Intent.SPEAK_TO_PERSON, Slots(), True, 1.0, "rules")
    for intent, pattern in _RULES:
        if pattern.search(text):
            return Understanding(intent, Slots(), False, 0.5, "rules")
    return Understanding(Intent.OTHER, Slots(), False, 0.2, "rules")


class Understander:
    def __init__(
        self,
        llm: JsonChat,
        mode: str = "json_object",
        history_turns: int = 4,
        timeout_s: float | None = None,  # s for the model; then the rules decide
    ) -> None:
        self._llm = llm
        self._mode = mode
        self._history = history_turns
        self._timeout_s = timeout_s

    async def understand(self, text: str, history: Sequence[ChatMessage] = ()) -> Understanding:
        rules = by_rules(text)
        if rules.intent in (Intent.EMERGENCY, Intent.SPEAK_TO_PERSON):
            return rules
        context = list(history)[-2 * self._history :]
        messages = [ChatMessage("system", SYSTEM), *context, ChatMessage("user", text)]
        for attempt in (1, 2):
            try:
                asked = self._llm.complete_json(messages, SCHEMA, self._mode)
                raw = await asyncio.wait_for(asked, self._timeout_s)
                answer = msgspec.json.decode(raw, type=LlmAnswer)
            except (msgspec.ValidationError, msgspec.DecodeError):
                logger.warning(
                    "invalid understanding",
                    extra={"stage": "llm", "code": "llm-invalid-json", "attempt": attempt},
                )
                continue
            except ChatModelError as exc:
                logger.warning("understanding failed", extra={"stage": "llm", "code": exc.code})
                break
            except TimeoutError:
                logger.warning("understanding late", extra={"stage": "llm", "code": "llm-timeout"})
                break
            confidence = min(1.0, max(0.0, answer.confidence))
            answer = _corroborated(answer, text, rules)
            if answer.intent == Intent.OTHER and rules.intent != Intent.OTHER:
                # a small model often says "other" to a plain request: the rules carry it
                return Understanding(rules.intent, answer.slots, False, rules.confidence, "rules")
            return Understanding(answer.intent, answer.slots, answer.wants_human, confidence, "llm")
        return rules

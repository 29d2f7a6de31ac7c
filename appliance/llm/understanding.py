"""The LLM's part in understanding a caller turn: which intent, nothing else.

The code's rules read most lines (appliance/workflows/intents.py) and its parsers read
every detail (appliance/workflows/said.py); the model is asked only when the rules are
unsure, and only for one word from a closed list, constrained by a JSON schema: on two
CPU cores a 0.5B model reads the short fixed prompt from llama.cpp's prefix cache and
answers in a few tokens (bench/understanding.py), where asking it for every slot as JSON
took 4-7 s and invented names and dates nobody said. Invalid, failed or late output
gives None: the rules' reading stands.
"""

from __future__ import annotations

import asyncio
import enum
import logging
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
    INFORM = "inform"  # only details or an answer (a name, a date, a yes): no new request
    OTHER = "other"


# what the model may answer: never emergency or a person (rules alone decide those)
ASKABLE = tuple(
    i for i in Intent if i not in (Intent.EMERGENCY, Intent.SPEAK_TO_PERSON, Intent.INFORM)
)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"intent": {"type": "string", "enum": [i.value for i in ASKABLE]}},
    "required": ["intent"],
    "additionalProperties": False,
}
# fixed, short and first in every request: llama.cpp keeps its evaluation as a prefix
SYSTEM = (
    'Classify a patient\'s words on the phone to a clinic. Answer JSON: {"intent": ...}.\n'
    "book: a new appointment. reschedule: move an appointment. cancel: cancel one. "
    "appointment_status: when their appointment is. clinic_info: hours, address, parking, "
    "insurance, holidays, preparation, policies. refill: prescriptions, medication. "
    "billing: bills, payments. test_results: lab or test results. goodbye: ending the "
    "call. other: anything else."
)
MAX_TOKENS = 16  # {"intent": "appointment_status"} is 9 tokens


class LlmAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    intent: Intent


class JsonChat(Protocol):
    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str, max_tokens: int
    ) -> str: ...


class LlmIntents:
    """Asks the model for one intent from `ASKABLE`; None when it cannot say in time."""

    def __init__(
        self, llm: JsonChat, mode: str = "json_object", timeout_s: float | None = 1.5
    ) -> None:
        self._llm = llm
        self._mode = mode
        self._timeout_s = timeout_s

    async def intent(self, text: str) -> Intent | None:
        messages = [ChatMessage("system", SYSTEM), ChatMessage("user", text)]
        code = ""
        try:
            asked = self._llm.complete_json(messages, SCHEMA, self._mode, MAX_TOKENS)
            raw = await asyncio.wait_for(asked, self._timeout_s)
            answer = msgspec.json.decode(raw, type=LlmAnswer)
        except (msgspec.ValidationError, msgspec.DecodeError):
            code = "llm-invalid-json"
        except ChatModelError as exc:
            code = exc.code
        except TimeoutError:
            code = "llm-timeout"
        if code:
            logger.warning("llm intent not used", extra={"stage": "llm", "code": code})
            return None
        return answer.intent if answer.intent in ASKABLE else None

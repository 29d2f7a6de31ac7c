"""Turn understanding: the rules read the intent, the parsers the details; the LLM is asked
for one intent only where the rules are unsure, and its invalid, failed or late answer
leaves the rules' reading standing. Emergencies and person requests never reach it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.domain import ChatMessage
from appliance.errors import ChatModelError
from appliance.llm.understanding import ASKABLE, MAX_TOKENS, SCHEMA, Intent, LlmIntents
from appliance.workflows.intents import read
from appliance.workflows.understander import Understander

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 10, 5, tzinfo=ZoneInfo("America/New_York"))
TIE = "I need to cancel or maybe reschedule"  # cancel and reschedule, about equally


class ScriptedJson:
    """A JsonChat that answers from a script (a JSON text, an exception, or a hang)."""

    def __init__(self, answers: Sequence[str | Exception | None]) -> None:
        self._answers = list(answers)
        self.calls: list[list[ChatMessage]] = []
        self.asked: list[tuple[str, int]] = []  # (mode, max_tokens)

    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str, max_tokens: int
    ) -> str:
        assert schema is SCHEMA
        self.calls.append(list(messages))
        self.asked.append((mode, max_tokens))
        item = self._answers.pop(0)
        if item is None:
            await asyncio.Event().wait()  # never answers
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, str)
        return item


def answer(intent: str) -> str:
    return json.dumps({"intent": intent})


# --- the model's part: one intent from a closed list ---------------------------------


async def test_a_valid_answer_is_one_intent() -> None:
    llm = ScriptedJson([answer("reschedule")])
    assert await LlmIntents(llm, mode="json_schema").intent(TIE) == Intent.RESCHEDULE
    [messages] = llm.calls
    assert [m.role for m in messages] == ["system", "user"] and messages[1].content == TIE
    assert llm.asked == [("json_schema", MAX_TOKENS)]


def test_the_schema_offers_no_emergency_person_or_details() -> None:
    offered = SCHEMA["properties"]["intent"]["enum"]
    assert offered == [i.value for i in ASKABLE] and SCHEMA["required"] == ["intent"]
    for never in (Intent.EMERGENCY, Intent.SPEAK_TO_PERSON, Intent.INFORM):
        assert never.value not in offered
    assert SCHEMA["additionalProperties"] is False


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        '{"intent": "dance"}',
        '{"intent": "book", "slots": {"patient_name": "John Doe"}}',
        "{}",
        '{"intent": "emergency"}',  # valid words, but never the model's to say
        '{"intent": "speak_to_person"}',
        '{"intent": "inform"}',
    ],
)
async def test_invalid_output_is_none_and_not_retried(bad: str) -> None:
    llm = ScriptedJson([bad])
    assert await LlmIntents(llm).intent(TIE) is None
    assert len(llm.calls) == 1


async def test_a_failed_model_is_none() -> None:
    llm = ScriptedJson([ChatModelError("llm-failed", "x")])
    assert await LlmIntents(llm).intent(TIE) is None


async def test_a_late_answer_is_none() -> None:
    llm = ScriptedJson([None])
    started = asyncio.get_running_loop().time()
    assert await LlmIntents(llm, timeout_s=0.05).intent(TIE) is None
    assert asyncio.get_running_loop().time() - started < 1.0


# --- when the understander asks it -----------------------------------------------------


def understander(answers: Sequence[str | Exception | None], when: Any = "tie") -> Any:
    llm = ScriptedJson(answers)
    return Understander(LlmIntents(llm, timeout_s=0.05), when), llm


@pytest.mark.parametrize(
    "text",
    ["I have crushing chest pain", "my husband can't breathe", "I feel suicidal"],
)
async def test_emergency_is_decided_by_rules_without_the_llm(text: str) -> None:
    u, llm = understander([], "unmatched")
    heard = await u.understand(text, NOW)
    assert (heard.intent, heard.source, heard.confidence) == (Intent.EMERGENCY, "rules", 1.0)
    assert llm.calls == []


@pytest.mark.parametrize(
    "text", ["Can I talk to a real person please", "operator", "I'd rather talk to somebody"]
)
async def test_a_request_for_a_person_is_decided_by_rules_without_the_llm(text: str) -> None:
    u, llm = understander([], "unmatched")
    heard = await u.understand(text, NOW)
    assert (heard.intent, heard.wants_human, heard.source) == (
        Intent.SPEAK_TO_PERSON, True, "rules"
    )  # fmt: skip
    assert llm.calls == []


async def test_a_clear_line_is_not_put_to_the_llm() -> None:
    u, llm = understander([])
    heard = await u.understand("I'd like to book an appointment", NOW)
    assert (heard.intent, heard.source, heard.wants_human) == (Intent.BOOK, "rules", False)
    assert llm.calls == []


async def test_on_a_tie_the_model_picks_one_of_the_two() -> None:
    assert read(TIE).intent == Intent.CANCEL and read(TIE).runner_up == Intent.RESCHEDULE
    u, llm = understander([answer("reschedule")])
    heard = await u.understand(TIE, NOW)
    assert (heard.intent, heard.source) == (Intent.RESCHEDULE, "llm") and len(llm.calls) == 1


@pytest.mark.parametrize(
    "said", [answer("book"), "{not json", ChatModelError("llm-timeout", "x"), None]
)
async def test_on_a_tie_anything_else_leaves_the_rules_first(said: str | Exception | None) -> None:
    """Another intent than the two tied, invalid output, a failure or no answer in time."""
    u, llm = understander([said])
    heard = await u.understand(TIE, NOW)
    assert (heard.intent, heard.source) == (Intent.CANCEL, "rules") and len(llm.calls) == 1


async def test_never_means_never_even_on_a_tie() -> None:
    u, llm = understander([answer("reschedule")], "never")
    heard = await u.understand(TIE, NOW)
    assert (heard.intent, heard.source) == (Intent.CANCEL, "rules") and llm.calls == []


async def test_an_unmatched_line_is_asked_only_when_set_to() -> None:
    u, llm = understander([answer("book")])
    heard = await u.understand("can you repeat that", NOW)
    assert (heard.intent, heard.source) == (Intent.OTHER, "rules") and llm.calls == []
    u, llm = understander([answer("book")], "unmatched")
    heard = await u.understand("can you repeat that", NOW)
    assert (heard.intent, heard.source) == (Intent.BOOK, "llm") and len(llm.calls) == 1


async def test_details_alone_are_inform_and_not_asked() -> None:
    u, llm = understander([], "unmatched")
    heard = await u.understand("My name is Maria Gonzalez, born April 12th, 1980.", NOW)
    assert (heard.intent, heard.source) == (Intent.INFORM, "rules") and llm.calls == []
    assert heard.said.name == ("Maria", "Gonzalez")
    assert heard.said.dob is not None and heard.said.dob.isoformat() == "1980-04-12"


async def test_a_name_spelled_out_alone_is_an_answer() -> None:
    u, llm = understander([], "unmatched")
    heard = await u.understand("k o w a l c z y k", NOW)
    assert (heard.intent, heard.source) == (Intent.INFORM, "rules") and llm.calls == []


async def test_the_details_come_from_the_words_not_the_model() -> None:
    u, _ = understander([answer("reschedule")])
    heard = await u.understand(TIE + " on Friday", NOW)
    assert heard.source == "llm"
    assert heard.said.when.day is not None and heard.said.when.day.isoformat() == "2026-11-27"
    assert heard.said.name is None and heard.said.dob is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'd like to book an appointment", Intent.BOOK),
        ("Can you move my appointment to Friday", Intent.RESCHEDULE),
        ("I need a refill of my blood pressure pills", Intent.REFILL),
        ("I have a question about my bill", Intent.BILLING),
        ("Are my lab results back", Intent.TEST_RESULTS),
        ("Where can I park", Intent.CLINIC_INFO),
        ("Okay, goodbye", Intent.GOODBYE),
        ("purple elephants", Intent.OTHER),
        ("sorry wrong number", Intent.OTHER),  # not "no": a call not meant for the clinic
        ("is this the riverside dental office", Intent.OTHER),
        ("what day did i book for my follow up", Intent.APPOINTMENT_STATUS),  # booked before
        ("i don't think i need my appointment on friday anymore", Intent.CANCEL),
        ("my daughter took a bunch of my sleeping pills", Intent.EMERGENCY),
        ("can i get more of the cream dr patel gave me", Intent.REFILL),
        ("hi this is the pharmacy at walgreens calling", Intent.SPEAK_TO_PERSON),
    ],
)
def test_rules(text: str, intent: Intent) -> None:
    assert read(text).intent == intent

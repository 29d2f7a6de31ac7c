"""Turn understanding: schema-validated LLM output, one retry, rules as fallback/authority."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from appliance.domain import ChatMessage
from appliance.errors import ChatModelError
from appliance.llm.understanding import SCHEMA, Intent, Understander, by_rules

pytestmark = pytest.mark.unit


class ScriptedJson:
    def __init__(self, answers: Sequence[str | Exception]) -> None:
        self._answers = list(answers)
        self.calls: list[list[ChatMessage]] = []

    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str
    ) -> str:
        assert schema is SCHEMA
        self.calls.append(list(messages))
        item = self._answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def answer(intent: str, **slots: str) -> str:
    return json.dumps({"intent": intent, "slots": slots, "wants_human": False, "confidence": 0.9})


async def test_valid_llm_answer_is_used() -> None:
    llm = ScriptedJson([answer("book", date="next Tuesday", provider="Dr Lee")])
    u = await Understander(llm).understand("Can I see Dr Lee next Tuesday?")
    assert (u.intent, u.source, u.confidence) == (Intent.BOOK, "llm", 0.9)
    assert u.slots.date == "next Tuesday" and u.slots.provider == "Dr Lee"
    assert llm.calls[0][0].role == "system" and llm.calls[0][-1].content.endswith("Tuesday?")


async def test_invalid_output_is_retried_once() -> None:
    llm = ScriptedJson(["{not json", answer("cancel")])
    u = await Understander(llm).understand("I need to cancel")
    assert u.intent == Intent.CANCEL and u.source == "llm" and len(llm.calls) == 2


@pytest.mark.parametrize(
    "bad",
    [
        '{"intent": "dance", "slots": {}, "wants_human": false, "confidence": 1}',
        '{"intent": "book", "slots": {"ssn": "x"}, "wants_human": false, "confidence": 1}',
        '{"intent": "book"}',
    ],
)
async def test_two_invalid_outputs_fall_back_to_rules(bad: str) -> None:
    llm = ScriptedJson([bad, bad])
    u = await Understander(llm).understand("I would like to reschedule my visit")
    assert u.source == "rules" and u.intent == Intent.RESCHEDULE and len(llm.calls) == 2


async def test_server_failure_falls_back_to_rules() -> None:
    llm = ScriptedJson([ChatModelError("llm-timeout", "x")])
    u = await Understander(llm).understand("What are your opening hours?")
    assert u.source == "rules" and u.intent == Intent.CLINIC_INFO


@pytest.mark.parametrize(
    "text",
    ["I have crushing chest pain", "my husband can't breathe", "I feel suicidal"],
)
async def test_emergency_is_decided_by_rules_without_the_llm(text: str) -> None:
    llm = ScriptedJson([])
    u = await Understander(llm).understand(text)
    assert u.intent == Intent.EMERGENCY and u.source == "rules" and llm.calls == []


async def test_request_for_a_person_wins() -> None:
    u = await Understander(ScriptedJson([])).understand("Can I talk to a real person please")
    assert u.intent == Intent.SPEAK_TO_PERSON and u.wants_human


async def test_confidence_is_clamped_and_history_is_bounded() -> None:
    raw = json.dumps({"intent": "other", "slots": {}, "wants_human": False, "confidence": 7})
    llm = ScriptedJson([raw])
    history = [ChatMessage("user" if i % 2 else "assistant", f"m{i}") for i in range(20)]
    u = await Understander(llm, history_turns=2).understand("hmm", history)
    assert u.confidence == 1.0
    assert [m.content for m in llm.calls[0][1:-1]] == ["m16", "m17", "m18", "m19"]


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
    ],
)
def test_rules(text: str, intent: Intent) -> None:
    assert by_rules(text).intent == intent

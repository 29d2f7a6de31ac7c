"""The workflow engine seen through the agent-plane port (`ClinicAgent.respond`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.domain import CallId, ChatMessage
from appliance.llm.understanding import LlmIntents
from appliance.ports import AgentReply, AgentTurn
from appliance.scheduling.model import (
    Appointment,
    AppointmentType,
    Patient,
    Provider,
    Slot,
    SlotQuery,
)
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import KnowledgeBase, Topic
from appliance.workflows.understander import Understander

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 10, 5, tzinfo=ZoneInfo("UTC"))


class NoSchedule:
    def __init__(self, providers: Sequence[Provider] = ()) -> None:
        self._providers = list(providers)
        self.looked_up = 0  # how often the reference data was read

    async def find_slots(self, query: SlotQuery) -> list[Slot]:
        return []

    async def book(self, patient_id: str, slot: Slot, call_id: str | None) -> Appointment:
        raise AssertionError("not expected")

    reschedule = cancel = book  # type: ignore[assignment]

    async def upcoming(self, patient_id: str) -> list[Appointment]:
        return []

    async def find_patient(self, first: str, last: str, birth: Any) -> Patient | None:
        return None

    async def providers(self) -> list[Provider]:
        self.looked_up += 1
        return list(self._providers)

    async def appointment_types(self) -> list[AppointmentType]:
        return [AppointmentType("physical", "Annual physical", 45)]


class Scripted:
    """The model's JSON answer: always `intent`; counts how often it was asked."""

    def __init__(self, intent: str) -> None:
        self.intent = intent
        self.asked: list[str] = []  # the caller lines put to it

    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str, max_tokens: int
    ) -> str:
        self.asked.append(messages[-1].content)
        return json.dumps({"intent": self.intent})


def understander(llm: Scripted) -> Understander:
    return Understander(LlmIntents(llm), "tie")


def chat(llm: str | Scripted, schedule: NoSchedule | None = None) -> ClinicAgent:
    """An agent whose model always answers `llm` (an intent, or the test's own script)."""
    kb = KnowledgeBase([Topic("parking", ["park"], "Park behind the building.")])
    engine = WorkflowEngine(schedule or NoSchedule(), kb, ZoneInfo("UTC"))  # type: ignore[arg-type]
    scripted = Scripted(llm) if isinstance(llm, str) else llm
    return ClinicAgent(understander(scripted), engine)


async def respond(agent: ClinicAgent, text: str) -> tuple[list[str], AgentReply]:
    """The reply's text, streamed to the end; then the reply (directive, actions)."""
    reply = agent.respond(AgentTurn(CallId("c"), text, []))
    return [piece async for piece in reply.text], reply


async def test_reply_comes_from_the_knowledge_base() -> None:
    llm = Scripted("billing")  # not asked: the rules are sure
    out, reply = await respond(chat(llm), "where do I park")
    assert out == ["Park behind the building. Is there anything else I can help you with?"]
    assert reply.directive is None and reply.actions == [] and llm.asked == []


async def test_emergency_ends_the_call_whatever_the_llm_says() -> None:
    llm = Scripted("clinic_info")
    out, reply = await respond(chat(llm), "I have chest pain")
    assert "dial 911" in out[0]
    assert reply.directive is not None and reply.directive.end_call and llm.asked == []


async def test_a_plain_request_the_model_calls_other_is_carried_by_the_rules() -> None:
    llm = Scripted("other")
    u = understander(llm)
    plain = await u.understand("I would like to book an appointment please", NOW)
    assert (plain.intent.value, plain.source) == ("book", "rules") and llm.asked == []
    unsure = await u.understand("I need an appointment", NOW)  # a weak phrase: asked
    assert (unsure.intent.value, unsure.source) == ("book", "rules")
    assert llm.asked == ["I need an appointment"]
    still = await u.understand("what was that", NOW)  # no request: not asked ("tie")
    assert (still.intent.value, still.source) == ("other", "rules") and len(llm.asked) == 1


async def test_a_wish_for_a_human_needs_a_word_for_one() -> None:
    llm = Scripted("speak_to_person")  # never the model's to say
    u = understander(llm)
    plain = await u.understand("Cancel my appointment on Friday", NOW)
    assert (plain.intent.value, plain.wants_human) == ("cancel", False)
    unsure = await u.understand("I need an appointment", NOW)
    assert (unsure.intent.value, unsure.wants_human, unsure.source) == ("book", False, "rules")
    asked = await u.understand("Could I speak with somebody there", NOW)
    assert (asked.intent.value, asked.wants_human, asked.source) == (
        "speak_to_person", True, "rules"
    )  # fmt: skip
    assert llm.asked == ["I need an appointment"]


async def test_the_clinics_providers_are_read_from_the_schedule_once() -> None:
    schedule = NoSchedule([Provider("alvarez", "Dr Elena Alvarez", "family medicine")])
    agent = chat("other", schedule)
    await respond(agent, "I'd like a physical with doctor alvares next week")
    assert agent.heard.slots["provider"] == "alvarez"  # Whisper's spelling, the clinic's id
    assert agent.heard.slots["appointment_type"] == "physical"
    await respond(agent, "My name is Maria Gonzalez, born April 12th, 1980.")
    assert schedule.looked_up == 1
    assert agent.heard.slots["patient_name"] == "Maria Gonzalez"


async def test_each_reply_reports_the_intent_it_understood_as_a_code() -> None:
    cases = [
        ("where do I park", "clinic_info"),
        ("I need a refill of my blood pressure pills", "refill"),
        ("are my lab results back", "test_results"),
        ("I have chest pain", "emergency"),
        ("Could I speak with somebody there", "speak_to_person"),
        ("what was that", "other"),  # nothing understood: below the confidence floor
    ]
    for text, code in cases:
        _, reply = await respond(chat("other"), text)
        assert reply.intent == code, text
    strict = chat("other")  # a floor above any confidence (0..1)
    strict._engine.policy = dataclasses.replace(strict._engine.policy, min_confidence=1.5)
    _, reply = await respond(strict, "where do I park")
    assert reply.intent == "other"  # not taken as a request: not reported as one

"""The workflow engine seen through the agent-plane port (`ClinicAgent.respond`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.domain import CallId, ChatMessage
from appliance.llm.understanding import Understander
from appliance.ports import AgentReply, AgentTurn
from appliance.scheduling.model import Appointment, Patient, Provider, Slot, SlotQuery
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import KnowledgeBase, Topic

pytestmark = pytest.mark.unit


class NoSchedule:
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
        return []


class Scripted:
    def __init__(self, intent: str) -> None:
        self.intent = intent

    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str
    ) -> str:
        return json.dumps(
            {"intent": self.intent, "slots": {"topic": "parking"}, "wants_human": False,
             "confidence": 0.9}
        )  # fmt: skip


def chat(intent: str) -> ClinicAgent:
    kb = KnowledgeBase([Topic("parking", ["park"], "Park behind the building.")])
    engine = WorkflowEngine(NoSchedule(), kb, ZoneInfo("UTC"))  # type: ignore[arg-type]
    return ClinicAgent(Understander(Scripted(intent)), engine)


async def respond(agent: ClinicAgent, text: str) -> tuple[list[str], AgentReply]:
    """The reply's text, streamed to the end; then the reply (directive, actions)."""
    reply = agent.respond(AgentTurn(CallId("c"), text, []))
    return [piece async for piece in reply.text], reply


async def test_reply_comes_from_the_knowledge_base() -> None:
    out, reply = await respond(chat("clinic_info"), "where do I park")
    assert out == ["Park behind the building. Is there anything else I can help you with?"]
    assert reply.directive is None and reply.actions == []


async def test_emergency_ends_the_call_whatever_the_llm_says() -> None:
    out, reply = await respond(chat("clinic_info"), "I have chest pain")
    assert "dial 911" in out[0]
    assert reply.directive is not None and reply.directive.end_call


async def test_a_plain_request_the_model_calls_other_is_carried_by_the_rules() -> None:
    understander = Understander(Scripted("other"))
    u = await understander.understand("I would like to book an appointment please")
    assert (u.intent.value, u.source, u.slots.topic) == ("book", "rules", "parking")
    still = await understander.understand("mumble mumble")
    assert (still.intent.value, still.source) == ("other", "llm")


class WantsHuman:
    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str
    ) -> str:
        return json.dumps(
            {"intent": "speak_to_person", "slots": {}, "wants_human": True, "confidence": 0.9}
        )


async def test_a_wish_for_a_human_needs_a_word_for_one() -> None:
    understander = Understander(WantsHuman())
    plain = await understander.understand("Cancel my appointment on Friday")
    assert (plain.intent.value, plain.wants_human) == ("cancel", False)
    asked = await understander.understand("Could I speak with somebody there")
    assert (asked.intent.value, asked.wants_human, asked.source) == ("speak_to_person", True, "llm")

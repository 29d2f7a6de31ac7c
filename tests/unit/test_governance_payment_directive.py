"""The workflow engine sends a card payment to the PCI pause (Directive.payment), never
to the LLM; a question about a bill still goes to the front desk."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from appliance.domain import ChatMessage, Directive
from appliance.llm.understanding import Understander
from appliance.workflows.agent import WorkflowChat
from appliance.workflows.engine import PAYMENT_REASON, PAYMENT_SAY, WorkflowEngine
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.state import Stage
from tests.unit.test_workflow_chat import NoSchedule, Scripted, chat

pytestmark = pytest.mark.unit


async def say(c: WorkflowChat, text: str) -> list[str]:
    stream = c.stream([ChatMessage("system", "s"), ChatMessage("user", text)])
    return [piece async for piece in stream]


@pytest.mark.parametrize(
    "text",
    ["I'd like to pay my bill", "Can I pay with my card", "I want to make a payment"],
)
async def test_a_billing_payment_asks_for_the_pci_pause(text: str) -> None:
    c = chat("billing")
    assert await say(c, text) == [PAYMENT_SAY]
    assert c.directive() == Directive(transfer_reason=PAYMENT_REASON, payment=True)
    assert c.directive() is None  # read once
    assert c.take_actions() == [("payment", PAYMENT_REASON)]


async def test_a_question_about_a_bill_goes_to_the_front_desk_not_the_pause() -> None:
    c = chat("billing")
    out = await say(c, "Why was I charged twice on my last bill")
    assert out == ["Our staff can help you with that. Let me connect you with the front desk."]
    assert c.directive() == Directive(transfer_reason="high-risk-use-case", payment=False)


async def test_a_payment_in_the_middle_of_a_booking_leaves_the_booking() -> None:
    scripted = Scripted("book")
    engine = WorkflowEngine(NoSchedule(), KnowledgeBase([]), ZoneInfo("UTC"))  # type: ignore[arg-type]
    c = WorkflowChat(Understander(scripted), engine)
    await say(c, "I need an appointment")
    assert engine.state.stage == Stage.IDENTIFY
    scripted.intent = "billing"
    assert await say(c, "actually I need to pay my balance by card first") == [PAYMENT_SAY]
    directive = c.directive()
    assert directive is not None and directive.payment
    assert (engine.state.stage, engine.state.task) == (Stage.IDLE, None)

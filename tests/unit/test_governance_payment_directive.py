"""The workflow engine sends a card payment to the PCI pause (Directive.payment), never
to the LLM; a question about a bill still goes to the front desk."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from appliance.domain import Directive, WorkflowAction
from appliance.ports import AgentAction
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import PAYMENT_REASON, PAYMENT_SAY, WorkflowEngine
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.state import Stage
from tests.unit.test_clinic_agent import NoSchedule, Scripted, chat, respond, understander

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    ["I'd like to pay my bill", "Can I pay with my card", "I want to make a payment"],
)
async def test_a_billing_payment_asks_for_the_pci_pause(text: str) -> None:
    c = chat("billing")
    out, reply = await respond(c, text)
    assert out == [PAYMENT_SAY]
    assert reply.directive == Directive(transfer_reason=PAYMENT_REASON, payment=True)
    assert reply.actions == [AgentAction(WorkflowAction.PAYMENT, PAYMENT_REASON)]
    _, later = await respond(c, "Why was I charged twice on my last bill")
    assert AgentAction(WorkflowAction.PAYMENT, PAYMENT_REASON) not in later.actions  # once


async def test_a_question_about_a_bill_goes_to_the_front_desk_not_the_pause() -> None:
    out, reply = await respond(chat("billing"), "Why was I charged twice on my last bill")
    assert out == ["Our staff can help you with that. Let me connect you with the front desk."]
    assert reply.directive == Directive(transfer_reason="high-risk-use-case", payment=False)


async def test_a_payment_in_the_middle_of_a_booking_leaves_the_booking() -> None:
    scripted = Scripted("book")
    engine = WorkflowEngine(NoSchedule(), KnowledgeBase([]), ZoneInfo("UTC"))  # type: ignore[arg-type]
    c = ClinicAgent(understander(scripted), engine)
    await respond(c, "I need an appointment")
    assert engine.state.stage == Stage.IDENTIFY
    pay = "actually I need to pay my balance by card first"
    out, reply = await respond(c, pay)  # the rules' billing: the model (still "book") not asked
    assert out == [PAYMENT_SAY] and pay not in scripted.asked
    assert reply.directive is not None and reply.directive.payment
    assert (engine.state.stage, engine.state.task) == (Stage.IDLE, None)

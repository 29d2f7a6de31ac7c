"""The clinic agent: the workflow engine behind the agent-plane port (`AgentPlane`).

`respond()` takes the caller's latest words, understands them (one structured LLM call),
lets the engine decide, and streams the vetted reply; the reply then carries the
directive (end the call, transfer it, take a payment) and the actions to audit. One
instance per call (the engine has state). On a transfer it hands over the conversation:
the handoff packet is stored before the desk phone rings (`hand_off`), and a failed
transfer turns into message taking (`transfer_result`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from appliance.domain import CallId, Directive
from appliance.errors import ApplianceError
from appliance.llm.understanding import Intent
from appliance.observability.transfers import count_message
from appliance.ports import AgentAction, AgentReply, AgentTurn, CallerOptOuts, Handoff
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.handoff import Heard, build_packet, transfer_headers
from appliance.workflows.handoff_store import CallerMessage, HandoffStore
from appliance.workflows.said import Vocabulary
from appliance.workflows.state import Decision, MessageDraft
from appliance.workflows.understander import Understander, Understanding

logger = logging.getLogger(__name__)


class ClinicAgent:
    """Implements appliance.ports.AgentPlane with the deterministic clinic workflows."""

    def __init__(
        self,
        understander: Understander,
        engine: WorkflowEngine,
        handoffs: HandoffStore | None = None,
        clock: Callable[[], float] = time.time,
        opt_outs: CallerOptOuts | None = None,
    ) -> None:
        self._understander = understander
        self._opt_outs = opt_outs  # "stop calling me": off the reminder list, first
        self._engine = engine
        self._handoffs = handoffs
        self._clock = clock  # UNIX s
        self.heard = Heard()
        self.call_id = ""
        self.handoff_id: str | None = None  # the latest packet's
        self.packet: dict[str, Any] | None = None  # the latest packet (PHI: never log it)
        self._reported = 0  # workflow actions already put on a reply

    def respond(self, turn: AgentTurn) -> AgentReply:
        reply = AgentReply(text=_nothing())
        reply.text = self._decide(turn, reply)  # which fills in the rest of the reply
        return reply

    async def _decide(self, turn: AgentTurn, reply: AgentReply) -> AsyncIterator[str]:
        self.call_id = turn.call_id
        self._engine.call_id, self._engine.caller_key = turn.call_id, turn.caller_key
        if self._opt_outs is not None:
            said = await self._opt_outs.heard(turn.call_id, turn.caller_key, turn.text)
            if said is not None:  # done and audited; the call goes on
                yield said
                return
        await self._know_the_clinic()
        understanding = await self._understander.understand(turn.text, self._engine.now())
        self.heard.add(understanding)
        decision = await self._engine.turn(understanding, turn.text)
        if decision.message is not None:
            await self._store_message(decision.message)
        reply.directive = _directive(decision)
        reply.actions = self._new_actions()
        reply.intent = self._intent_code(understanding)
        reply.reprompt = decision.reprompt
        logger.info(
            "workflow turn",
            extra={
                "stage": "workflow",
                "intent": understanding.intent.value,
                "source": understanding.source,
                "workflow_stage": self._engine.state.stage.value,
                "code": decision.transfer,
                "end_call": decision.end_call,
            },
        )
        yield decision.say

    def _intent_code(self, u: Understanding) -> str:
        """The request understood, as the engine reads it: a wish for a person is one;
        below the engine's confidence floor, nothing clear (`other`)."""
        if u.intent == Intent.EMERGENCY:
            return u.intent.value
        if u.wants_human:
            return Intent.SPEAK_TO_PERSON.value
        if u.confidence < self._engine.policy.min_confidence:
            return Intent.OTHER.value
        return u.intent.value

    async def _know_the_clinic(self) -> None:
        """The clinic's providers, appointment types and KB, for reading details
        (loaded once per understander: the schedule's reference data)."""
        u, e = self._understander, self._engine
        if u.vocabulary.providers or u.vocabulary.kb is not None:
            return
        providers = tuple(await e.schedule.providers())
        types = tuple(await e.schedule.appointment_types())
        u.vocabulary = Vocabulary(providers, types, e.kb)

    def _new_actions(self) -> list[AgentAction]:
        """Workflow actions since the last reply, as (action, outcome) codes (no PHI)."""
        actions = self._engine.state.actions
        new, self._reported = actions[self._reported :], len(actions)
        return [AgentAction(a.action, a.outcome, a.ref) for a in new]

    async def hand_off(self, call_id: CallId, reason: str) -> Handoff:
        """Build, validate and store the packet; the X-headers that reference it.

        A packet that cannot be built or stored never holds the caller back: the error
        is logged (code only) and the transfer goes on with the basic headers.
        """
        self.call_id, now = call_id, self._clock()
        e = self._engine
        try:
            packet = build_packet(e.state, self.heard, call_id, reason, e.provider_names, now)
            if self._handoffs is not None:
                await self._handoffs.save_packet(packet, now)
        except ApplianceError as exc:
            extra = {"stage": "workflow", "call_id": call_id, "code": exc.code}
            logger.error("handoff packet failed", extra=extra)
            return Handoff(headers={})
        self.handoff_id, self.packet = str(packet["handoff_id"]), packet
        return Handoff(headers=transfer_headers(packet), packet=packet)

    async def transfer_result(self, outcome: str) -> str | None:
        """Record the outcome; unless a human answered, what to tell the caller."""
        if self._handoffs is not None and self.handoff_id is not None:
            try:
                await self._handoffs.set_outcome(self.handoff_id, outcome)
            except ApplianceError as exc:
                extra = {"stage": "workflow", "call_id": self.call_id, "code": exc.code}
                logger.error("handoff outcome not stored", extra=extra)
        if outcome == "success":
            return None
        return self._engine.transfer_failed(outcome).say

    async def _store_message(self, draft: MessageDraft) -> None:
        message = CallerMessage(
            self.call_id,
            self.handoff_id,
            draft.reason,
            draft.kind,
            draft.callback_number,
            draft.body,
            self._clock(),
        )
        if self._handoffs is not None:
            await self._handoffs.save_message(message)  # a StoreError fails the turn: coded
        count_message(draft.kind)


def _directive(decision: Decision) -> Directive | None:
    """End the call, transfer it or pause for a card payment, as the decision asks."""
    if not (decision.end_call or decision.transfer or decision.payment):
        return None
    return Directive(
        end_call=decision.end_call, transfer_reason=decision.transfer, payment=decision.payment
    )


async def _nothing() -> AsyncIterator[str]:
    return
    yield  # an async generator that yields nothing

"""The workflow engine behind the session's ChatModel seam.

`stream()` takes the caller's latest words, understands them (one structured LLM call),
lets the engine decide, and yields the vetted reply; `decision` then tells the session
whether to end the call or transfer it. One instance per call (the engine has state).
On a transfer it also hands over the conversation (`HandsOff`): the handoff packet is
stored before the desk phone rings, and a failed transfer turns into message taking.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from appliance.domain import ChatMessage, Directive
from appliance.errors import ApplianceError
from appliance.llm.understanding import Understander
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.handoff import Heard, build_packet, transfer_headers
from appliance.workflows.handoff_store import CallerMessage, HandoffStore
from appliance.workflows.state import Decision, MessageDraft
from appliance.workflows.transfer_metrics import count_message

logger = logging.getLogger(__name__)


class WorkflowChat:
    """Implements appliance.ports.ChatModel and Directed with deterministic workflows,
    and appliance.workflows.transfer_flow.HandsOff."""

    def __init__(
        self,
        understander: Understander,
        engine: WorkflowEngine,
        handoffs: HandoffStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._understander = understander
        self._engine = engine
        self._handoffs = handoffs
        self._clock = clock  # UNIX s
        self.decision: Decision | None = None
        self.heard = Heard()
        self.call_id = ""
        self.handoff_id: str | None = None  # the latest packet's
        self.packet: dict[str, Any] | None = None  # the latest packet (PHI: never log it)
        self._reported = 0  # workflow actions already handed to take_actions()

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        users = [m for m in messages if m.role == "user"]
        text = users[-1].content if users else ""
        history = [m for m in messages if m.role != "system"][:-1]
        understanding = await self._understander.understand(text, history)
        self.heard.add(understanding)
        self.decision = await self._engine.turn(understanding, text)
        if self.decision.message is not None:
            await self._store_message(self.decision.message)
        logger.info(
            "workflow turn",
            extra={
                "stage": "workflow",
                "intent": understanding.intent.value,
                "source": understanding.source,
                "workflow_stage": self._engine.state.stage.value,
                "code": self.decision.transfer,
                "end_call": self.decision.end_call,
            },
        )
        yield self.decision.say

    def directive(self) -> Directive | None:
        """End the call, transfer it or pause for a card payment, as the last decision
        asked; cleared once read."""
        decision, self.decision = self.decision, None
        if decision is None or not (decision.end_call or decision.transfer or decision.payment):
            return None
        return Directive(
            end_call=decision.end_call, transfer_reason=decision.transfer, payment=decision.payment
        )

    async def ready(self) -> bool:
        return True

    def take_actions(self) -> list[tuple[str, str]]:
        """New workflow actions as (action, outcome) codes, for the audit log (no PHI)."""
        actions = self._engine.state.actions
        new, self._reported = actions[self._reported :], len(actions)
        return [(a.action, a.outcome) for a in new]

    # --- HandsOff --------------------------------------------------------------------

    async def begin_handoff(self, call_id: str, reason: str) -> dict[str, str]:
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
            return {}
        self.handoff_id, self.packet = str(packet["handoff_id"]), packet
        return transfer_headers(packet)

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
        message = CallerMessage(self.call_id, self.handoff_id, draft.reason, draft.kind,
                                draft.callback_number, draft.body, self._clock())  # fmt: skip
        if self._handoffs is not None:
            await self._handoffs.save_message(message)  # a StoreError fails the turn: coded
        count_message(draft.kind)

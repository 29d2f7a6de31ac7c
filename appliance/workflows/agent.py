"""The workflow engine behind the session's ChatModel seam.

`stream()` takes the caller's latest words, understands them (one structured LLM call),
lets the engine decide, and yields the vetted reply; `decision` then tells the session
whether to end the call or transfer it. One instance per call (the engine has state).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from appliance.domain import ChatMessage, Directive
from appliance.llm.understanding import Understander
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.state import Decision

logger = logging.getLogger(__name__)


class WorkflowChat:
    """Implements appliance.ports.ChatModel with deterministic workflows."""

    def __init__(self, understander: Understander, engine: WorkflowEngine) -> None:
        self._understander = understander
        self._engine = engine
        self.decision: Decision | None = None

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        users = [m for m in messages if m.role == "user"]
        text = users[-1].content if users else ""
        history = [m for m in messages if m.role != "system"][:-1]
        understanding = await self._understander.understand(text, history)
        self.decision = await self._engine.turn(understanding, text)
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
        """End the call or transfer it, as the last decision asked; cleared once read."""
        decision, self.decision = self.decision, None
        if decision is None or not (decision.end_call or decision.transfer):
            return None
        return Directive(end_call=decision.end_call, transfer_reason=decision.transfer)

    async def ready(self) -> bool:
        return True

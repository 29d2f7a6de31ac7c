"""Free-LLM mode behind the agent-plane port: the model answers in its own words.

Only with `[workflows] enabled = false`. The model sees the fixed system prompt, the
conversation so far and the caller's words; it decides nothing (no directive, no
actions) and hands over no packet: a transfer happens only on code's screens (a caller
declining AI handling).
"""

from __future__ import annotations

from appliance.domain import CallId, ChatMessage
from appliance.ports import AgentReply, AgentTurn, ChatModel, Handoff


class LlmAgent:
    """Implements appliance.ports.AgentPlane over a ChatModel."""

    def __init__(self, llm: ChatModel, system_prompt: str) -> None:
        self._llm = llm
        self._system = system_prompt

    def respond(self, turn: AgentTurn) -> AgentReply:
        messages = [
            ChatMessage("system", self._system),
            *turn.history,
            ChatMessage("user", turn.text),
        ]
        return AgentReply(text=aiter(self._llm.stream(messages)))

    async def hand_off(self, call_id: CallId, reason: str) -> Handoff:
        return Handoff(headers={})

    async def transfer_result(self, outcome: str) -> str | None:
        return None

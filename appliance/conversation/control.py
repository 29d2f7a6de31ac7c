"""What a flow (transfer, payment) may do with the call, in one small facade.

The flows take the caller out of the turn loop for a while. They speak through the
agent's voice, record through the call's event stream, and use the call's control
(transfer, hang up); they never see the session's other parts.
"""

from __future__ import annotations

from appliance.conversation.events import CallEvents
from appliance.conversation.prompts import Prompt
from appliance.conversation.voice import AgentVoice
from appliance.domain import CallId, ChatMessage, EventKind
from appliance.ports import CallHandle, Clock, TransferOutcome, Whisper, WhisperedCallback


class History:
    """The conversation so far, as the agent plane sees it (the latest `limit` messages)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.messages: list[ChatMessage] = []

    def add(self, *messages: ChatMessage) -> None:
        self.messages = [*self.messages, *messages][-self._limit :]


class CallControl:
    def __init__(
        self,
        call: CallHandle,
        voice: AgentVoice,
        events: CallEvents,
        history: History,
        clock: Clock,
    ) -> None:
        self._call, self._voice, self._events = call, voice, events
        self._history = history
        self.clock = clock

    @property
    def call_id(self) -> CallId:
        return self._call.call_id

    async def say(self, key: Prompt) -> None:
        """Play a fixed prompt to the end (protected)."""
        await self._voice.say(key)

    async def say_text(self, text: str) -> None:
        """Speak a vetted sentence of the agent plane to the end; it joins the history."""
        await self._voice.say_text(text)
        self._history.add(ChatMessage("assistant", text))

    def stop_audio(self) -> None:
        self._voice.stop()

    def emit(self, kind: EventKind, stage: str, code: str) -> None:
        self._events.emit(kind, stage=stage, code=code)

    async def hangup(self) -> None:
        await self._call.hangup()

    async def transfer(self, uri: str, headers: dict[str, str], within: float) -> TransferOutcome:
        return await self._call.transfer(uri, headers, within)

    async def attended_transfer(
        self,
        uri: str,
        headers: dict[str, str],
        ring_s: float,
        within: float,
        whisper: Whisper | None,
        whispered: WhisperedCallback,
    ) -> TransferOutcome:
        return await self._call.attended_transfer(uri, headers, ring_s, within, whisper, whispered)

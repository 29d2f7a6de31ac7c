"""Handing a live call to the front desk, for the call session.

1. The agent plane (`AgentPlane.hand_off`) builds, validates and stores the handoff
   packet: the admin screen-pop shows it from the store while the desk phone rings.
2. The caller hears the cached hold prompt (attended: repeated) while the transfer
   carries the handoff id and a PHI-free summary as X-headers: blind (REFER), or with
   `mode="attended"` a consultation call to the desk, on which (with `whisper`) the desk
   hears one PHI-free sentence about the caller (whisper.py) before the caller is bridged
   (REFER with Replaces). The whisper is synthesized while the desk rings; if TTS fails
   or is slow, the transfer goes on without it.
3. The outcome is counted (success/busy/no_answer/timeout/failed) and recorded; if no
   human answered, the caller stays with the agent, is told why, and is offered a message
   or a callback, which the workflow engine then takes turn by turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from appliance.audio import AudioChunk
from appliance.conversation.control import CallControl
from appliance.conversation.flows.whisper import packet_whisper
from appliance.conversation.prompts import Prompt
from appliance.conversation.settings import TransferPolicy
from appliance.domain import EventKind
from appliance.errors import ApplianceError
from appliance.observability.transfers import classify, count_transfer
from appliance.ports import AgentPlane, TransferOutcome

logger = logging.getLogger(__name__)
T = TypeVar("T")
TRANSFER_WITHIN_S = 20.0  # s for the desk to answer (the transferee's final NOTIFY)
REPLACES_WITHIN_S = 10.0  # s, attended: from the REFER with Replaces to the final NOTIFY
WHISPER_TTS_S = 5.0  # s for the whisper's synthesis; then the transfer goes on without it
HOLD_REPEAT_S = 3.0  # attended: s of quiet before the caller hears the hold prompt again
Synthesize = Callable[[str], AsyncIterator[AudioChunk]]  # TextToSpeech.synthesize


class TransferFlow:
    def __init__(
        self,
        control: CallControl,
        agent: AgentPlane,
        policy: TransferPolicy,
        synthesize: Synthesize,  # the whisper's TTS
    ) -> None:
        self._control, self._agent, self._policy = control, agent, policy
        self._attended = policy.mode == "attended"
        self._synthesize = synthesize if policy.whisper else None
        self._packet: Mapping[str, Any] | None = None  # the stored handoff packet, if any

    async def run(self, reason: str) -> bool:
        """True when the call left the agent (a human answered)."""
        control, agent = self._control, self._agent
        control.emit(EventKind.TRANSFER_REQUESTED, "workflow", reason)
        handoff = await agent.hand_off(control.call_id, reason)
        self._packet = handoff.packet
        say: str | None
        if self._policy.front_desk_uri:
            headers = {"X-Appliance-Call": control.call_id, "X-Appliance-Reason": reason}
            headers.update(handoff.headers)
            # shielded: on success the call ends at once and the session is torn down, but
            # the outcome must still be counted and recorded
            outcome, say = await asyncio.shield(self._transfer(headers, reason))
            if outcome == "success":
                return True
        else:  # no front desk configured: still offer a message
            say = await agent.transfer_result("failed")
        if say is None:
            await control.say(Prompt.NO_TRANSFER)
        else:
            await control.say_text(say)
        return False

    async def _transfer(self, headers: dict[str, str], reason: str) -> tuple[str, str | None]:
        """Transfer on hold; count and record the outcome; what to tell the caller if no
        human answered."""
        result = await self._on_hold(self._send(headers, reason))
        outcome = classify(result)
        count_transfer(outcome)
        self._recorded(result, outcome)
        return outcome, await self._agent.transfer_result(outcome)

    async def _send(self, headers: dict[str, str], reason: str) -> TransferOutcome:
        uri = self._policy.front_desk_uri
        if self._attended:
            return await self._attended_transfer(uri, headers, reason)
        return await self._control.transfer(uri, headers, TRANSFER_WITHIN_S)

    async def _attended_transfer(
        self, uri: str, headers: dict[str, str], reason: str
    ) -> TransferOutcome:
        """Consultation call; the whisper (synthesized while the desk rings); Replaces."""
        whisper = None
        if self._synthesize is not None:
            text = packet_whisper(self._packet, reason)
            whisper = asyncio.ensure_future(self._whisper_audio(text))
        played: list[bool] = []
        try:
            result = await self._control.attended_transfer(
                uri, headers, TRANSFER_WITHIN_S, REPLACES_WITHIN_S, whisper, played.append
            )
        finally:
            if whisper is not None and not whisper.done():  # the desk never answered
                whisper.cancel()
                await asyncio.gather(whisper, return_exceptions=True)
        if played:
            kind = EventKind.WHISPER_PLAYED if played[0] else EventKind.WHISPER_CUT
            self._control.emit(kind, "telephony", reason)
        return result

    async def _whisper_audio(self, text: str) -> Sequence[AudioChunk]:
        """The whisper's audio, or none if TTS fails or takes over WHISPER_TTS_S."""
        assert self._synthesize is not None
        synthesize = self._synthesize

        async def collect() -> list[AudioChunk]:
            return [chunk async for chunk in synthesize(text)]

        work = asyncio.ensure_future(collect())
        timer = asyncio.ensure_future(self._control.clock.sleep(WHISPER_TTS_S))
        try:
            await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not work.done():
                work.cancel()
            await asyncio.gather(work, timer, return_exceptions=True)
        code = "whisper-tts-timeout" if work.cancelled() else None
        if code is None and (exc := work.exception()) is not None:
            code = exc.code if isinstance(exc, ApplianceError) else "whisper-tts-failed"
        if code is None:
            return work.result()
        logger.warning(
            "whisper not synthesized; transferring without it",
            extra={"call_id": self._control.call_id, "stage": "transfer", "code": code},
        )
        self._control.emit(EventKind.WHISPER_SKIPPED, "tts", code)
        return []

    async def _on_hold(self, transfer: Awaitable[T]) -> T:
        """The hold prompt plays while the desk rings (attended: again every few seconds,
        as the desk also listens to the whisper); it stops when the transfer ends."""
        hold = asyncio.ensure_future(self._hold())
        try:
            return await transfer
        finally:
            if not hold.done():
                self._control.stop_audio()
                hold.cancel()
            await asyncio.gather(hold, return_exceptions=True)

    async def _hold(self) -> None:
        await self._control.say(Prompt.HOLD)
        while self._attended:
            await self._control.clock.sleep(HOLD_REPEAT_S)
            await self._control.say(Prompt.HOLD)

    def _recorded(self, result: TransferOutcome, outcome: str) -> None:
        kind = EventKind.TRANSFER_OK if result.ok else EventKind.TRANSFER_FAILED
        self._control.emit(kind, "telephony", result.reason)
        logger.info(
            "transfer ended",
            extra={"call_id": self._control.call_id, "stage": "transfer", "code": outcome},
        )

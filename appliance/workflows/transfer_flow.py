"""Handing a live call to the front desk, for the call session.

1. The agent plane (WorkflowChat, if it is one) builds, validates and stores the handoff
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
from typing import Any, Protocol, TypeVar, runtime_checkable

from appliance.audio import AudioChunk
from appliance.conversation.prompts import Prompt
from appliance.errors import ApplianceError
from appliance.ports import (
    AttendedTransferable,
    CallHandle,
    CallRecorder,
    Clock,
    Transferable,
    TransferOutcome,
)
from appliance.workflows.transfer_metrics import classify, count_transfer
from appliance.workflows.whisper import packet_whisper

logger = logging.getLogger(__name__)
T = TypeVar("T")
TRANSFER_WITHIN_S = 20.0  # s for the desk to answer (the transferee's final NOTIFY)
REPLACES_WITHIN_S = 10.0  # s, attended: from the REFER with Replaces to the final NOTIFY
WHISPER_TTS_S = 5.0  # s for the whisper's synthesis; then the transfer goes on without it
HOLD_REPEAT_S = 3.0  # attended: s of quiet before the caller hears the hold prompt again
MODES = ("blind", "attended")
Synthesize = Callable[[str], AsyncIterator[AudioChunk]]  # TextToSpeech.synthesize


@runtime_checkable
class HandsOff(Protocol):
    """An agent plane that hands over its conversation state (WorkflowChat does)."""

    async def begin_handoff(self, call_id: str, reason: str) -> dict[str, str]:
        """Store the packet; the X-headers that reference it."""
        ...

    async def transfer_result(self, outcome: str) -> str | None:
        """Record the outcome; what to tell the caller when no human answered."""
        ...


@runtime_checkable
class KeepsPacket(Protocol):
    """A HandsOff agent that keeps the packet it stored last (for the whisper's codes)."""

    @property
    def packet(self) -> Mapping[str, Any] | None: ...


class TransferFlow:
    def __init__(
        self,
        call: CallHandle,
        front_desk_uri: str,
        recorder: CallRecorder,
        clock: Clock,
        agent: object,
        say: Callable[[Prompt], Awaitable[object]],  # plays a cached prompt by key, to the end
        speak: Callable[[str], Awaitable[object]],  # synthesizes and plays text, to the end
        stop_audio: Callable[[], None],
        mode: str = "blind",  # "attended": consultation call (and whisper) first
        whisper: bool = True,  # attended only: play the whisper to the desk
        synthesize: Synthesize | None = None,  # the whisper's TTS (none: no whisper)
    ) -> None:
        self._call, self._uri, self._recorder, self._clock = call, front_desk_uri, recorder, clock
        self._handoff = agent if isinstance(agent, HandsOff) else None
        self._say, self._speak, self._stop_audio = say, speak, stop_audio
        self._attended = mode == "attended" and isinstance(call, AttendedTransferable)
        self._synthesize = synthesize if whisper else None

    async def run(self, reason: str) -> bool:
        """True when the call left the agent (a human answered)."""
        call, handoff = self._call, self._handoff
        await self._event("transfer-requested", "workflow", reason)
        say: str | None = None
        if self._uri and (self._attended or isinstance(call, Transferable)):
            headers = {"X-Appliance-Call": call.call_id, "X-Appliance-Reason": reason}
            if handoff is not None:
                headers.update(await handoff.begin_handoff(call.call_id, reason))
            # shielded: on success the call ends at once and the session is torn down, but
            # the outcome must still be counted and recorded
            outcome, say = await asyncio.shield(self._transfer(headers, reason))
            if outcome == "success":
                return True
        elif handoff is not None:  # no front desk configured: still offer a message
            await handoff.begin_handoff(call.call_id, reason)
            say = await handoff.transfer_result("failed")
        if say is None:
            await self._say(Prompt.NO_TRANSFER)
        else:
            await self._speak(say)
        return False

    async def _transfer(self, headers: dict[str, str], reason: str) -> tuple[str, str | None]:
        """Transfer on hold; count and record the outcome; what to tell the caller if no
        human answered."""
        result = await self._on_hold(self._send(headers, reason))
        outcome = classify(result)
        count_transfer(outcome)
        await self._recorded(result, outcome)
        say = None
        if self._handoff is not None:
            say = await self._handoff.transfer_result(outcome)
        return outcome, say

    async def _send(self, headers: dict[str, str], reason: str) -> TransferOutcome:
        call = self._call
        if self._attended and isinstance(call, AttendedTransferable):
            return await self._attended_transfer(call, headers, reason)
        assert isinstance(call, Transferable)
        return await call.transfer(self._uri, headers, TRANSFER_WITHIN_S)

    async def _attended_transfer(
        self, call: AttendedTransferable, headers: dict[str, str], reason: str
    ) -> TransferOutcome:
        """Consultation call; the whisper (synthesized while the desk rings); Replaces."""
        whisper = None
        if self._synthesize is not None:
            packet = self._handoff.packet if isinstance(self._handoff, KeepsPacket) else None
            whisper = asyncio.ensure_future(self._whisper_audio(packet_whisper(packet, reason)))
        played: list[bool] = []
        try:
            result = await call.attended_transfer(
                self._uri, headers, TRANSFER_WITHIN_S, REPLACES_WITHIN_S, whisper, played.append
            )
        finally:
            if whisper is not None and not whisper.done():  # the desk never answered
                whisper.cancel()
                await asyncio.gather(whisper, return_exceptions=True)
        if played:
            await self._event("whisper-played" if played[0] else "whisper-cut", "telephony", reason)
        return result

    async def _whisper_audio(self, text: str) -> Sequence[AudioChunk]:
        """The whisper's audio, or none if TTS fails or takes over WHISPER_TTS_S."""
        assert self._synthesize is not None
        synthesize = self._synthesize

        async def collect() -> list[AudioChunk]:
            return [chunk async for chunk in synthesize(text)]

        work = asyncio.ensure_future(collect())
        timer = asyncio.ensure_future(self._clock.sleep(WHISPER_TTS_S))
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
            extra={"call_id": self._call.call_id, "stage": "transfer", "code": code},
        )
        await self._event("whisper-skipped", "tts", code)
        return []

    async def _on_hold(self, transfer: Awaitable[T]) -> T:
        """The hold prompt plays while the desk rings (attended: again every few seconds,
        as the desk also listens to the whisper); it stops when the transfer ends."""
        hold = asyncio.ensure_future(self._hold())
        try:
            return await transfer
        finally:
            if not hold.done():
                self._stop_audio()
                hold.cancel()
            await asyncio.gather(hold, return_exceptions=True)

    async def _hold(self) -> None:
        await self._say(Prompt.HOLD)
        while self._attended:
            await self._clock.sleep(HOLD_REPEAT_S)
            await self._say(Prompt.HOLD)

    async def _recorded(self, result: TransferOutcome, outcome: str) -> None:
        kind = "transfer-ok" if result.ok else "transfer-failed"
        await self._event(kind, "telephony", result.reason)
        logger.info(
            "transfer ended",
            extra={"call_id": self._call.call_id, "stage": "transfer", "code": outcome},
        )

    async def _event(self, kind: str, stage: str, code: str) -> None:
        await self._recorder.add_event(self._call.call_id, kind, stage, code, self._clock.time())

"""Handing a live call to the front desk, for the call session.

1. The agent plane (WorkflowChat, if it is one) builds, validates and stores the handoff
   packet: the admin screen-pop shows it from the store while the desk phone rings.
2. The caller hears the cached hold prompt while the blind transfer (REFER) carries the
   handoff id and a PHI-free summary as X-headers.
3. The outcome is counted (success/busy/no_answer/timeout/failed) and recorded; if no
   human answered, the caller stays with the agent, is told why, and is offered a message
   or a callback, which the workflow engine then takes turn by turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

from appliance.ports import CallHandle, CallRecorder, Clock, Transferable, TransferOutcome
from appliance.workflows.transfer_metrics import classify, count_transfer

logger = logging.getLogger(__name__)
T = TypeVar("T")
TRANSFER_WITHIN_S = 20.0  # s for the desk to answer (the transferee's final NOTIFY)


@runtime_checkable
class HandsOff(Protocol):
    """An agent plane that hands over its conversation state (WorkflowChat does)."""

    async def begin_handoff(self, call_id: str, reason: str) -> dict[str, str]:
        """Store the packet; the X-headers that reference it."""
        ...

    async def transfer_result(self, outcome: str) -> str | None:
        """Record the outcome; what to tell the caller when no human answered."""
        ...


class TransferFlow:
    def __init__(
        self,
        call: CallHandle,
        front_desk_uri: str,
        recorder: CallRecorder,
        clock: Clock,
        agent: object,
        say: Callable[[str], Awaitable[object]],  # plays a cached prompt by key, to the end
        speak: Callable[[str], Awaitable[object]],  # synthesizes and plays text, to the end
        stop_audio: Callable[[], None],
    ) -> None:
        self._call, self._uri, self._recorder, self._clock = call, front_desk_uri, recorder, clock
        self._handoff = agent if isinstance(agent, HandsOff) else None
        self._say, self._speak, self._stop_audio = say, speak, stop_audio

    async def run(self, reason: str) -> bool:
        """True when the call left the agent (a human answered)."""
        call, handoff = self._call, self._handoff
        await self._event("transfer-requested", "workflow", reason)
        say: str | None = None
        if self._uri and isinstance(call, Transferable):
            headers = {"X-Appliance-Call": call.call_id, "X-Appliance-Reason": reason}
            if handoff is not None:
                headers.update(await handoff.begin_handoff(call.call_id, reason))
            # shielded: on success the call ends at once and the session is torn down, but
            # the outcome must still be counted and recorded
            outcome, say = await asyncio.shield(self._transfer(call, headers))
            if outcome == "success":
                return True
        elif handoff is not None:  # no front desk configured: still offer a message
            await handoff.begin_handoff(call.call_id, reason)
            say = await handoff.transfer_result("failed")
        if say is None:
            await self._say("no_transfer")
        else:
            await self._speak(say)
        return False

    async def _transfer(
        self, call: Transferable, headers: dict[str, str]
    ) -> tuple[str, str | None]:
        """Transfer on hold; count and record the outcome; what to tell the caller if no
        human answered."""
        result = await self._on_hold(call.transfer(self._uri, headers, TRANSFER_WITHIN_S))
        outcome = classify(result)
        count_transfer(outcome)
        await self._recorded(result, outcome)
        say = None
        if self._handoff is not None:
            say = await self._handoff.transfer_result(outcome)
        return outcome, say

    async def _on_hold(self, transfer: Awaitable[T]) -> T:
        """The hold prompt plays while the desk rings; it stops when the transfer ends."""
        hold = asyncio.ensure_future(self._say("hold"))
        try:
            return await transfer
        finally:
            if not hold.done():
                self._stop_audio()
                hold.cancel()
            await asyncio.gather(hold, return_exceptions=True)

    async def _recorded(self, result: TransferOutcome, outcome: str) -> None:
        kind = "transfer-ok" if result.ok else "transfer-failed"
        await self._event(kind, "telephony", result.reason)
        logger.info(
            "transfer ended",
            extra={"call_id": self._call.call_id, "stage": "transfer", "code": outcome},
        )

    async def _event(self, kind: str, stage: str, code: str) -> None:
        await self._recorder.add_event(self._call.call_id, kind, stage, code, self._clock.time())

"""One call: greet, then listen -> transcribe -> think -> speak, until goodbye or hang-up.

A `CallSession` is composed of four parts that share nothing but what they are given:
- `AgentVoice` (voice.py): all agent audio (prompts, replies, filler) and what may be cut;
- `CallerInput` (caller.py): every caller frame -> VAD, barge-in, speculative STT, the PCI
  drop -> typed caller events;
- `Conversation` (dialogue.py): consumes those events, asks the agent plane through its
  port, runs the flows (transfer, payment);
- `CallEvents` (events.py): the one event stream, kept, counted and stored.
Any stage failure becomes a coded error; the caller then hears the cached apology and the
call ends politely (never dead air). The store is a stage too: every write of the call
goes through `GuardedRecorder` (recording.py: bounded, refused fast once the store has
failed), a refused start, turn or event ends the call with the apology, and a refusal at
the end is logged and counted; nothing raises out of `run`. All time comes from
`deps.clock` (tests run on a virtual clock).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import replace

from appliance.conversation.caller import CallerInput
from appliance.conversation.dialogue import Conversation, is_goodbye
from appliance.conversation.events import CallEvents
from appliance.conversation.prompts import Prompt
from appliance.conversation.recording import GuardedRecorder
from appliance.conversation.replies import ReplyHandle
from appliance.conversation.settings import SessionDeps, TransferPolicy
from appliance.conversation.timing import within
from appliance.conversation.voice import AgentVoice
from appliance.domain import EventKind, SessionEvent
from appliance.errors import ApplianceError, StoreError
from appliance.ports import CallHandle

__all__ = ["CallSession", "SessionDeps", "TransferPolicy", "is_goodbye"]

logger = logging.getLogger(__name__)


class CallSession:
    """Runs one call to its end.

    Returns "completed", "caller-hung-up", "no-response" (closed after the re-prompts)
    or "failed". The caller is heard all the time: speech over interruptible agent audio
    (replies, filler, re-prompts) stops it and cancels the reply (barge-in); speech over
    protected audio (greeting with the AI disclosure, goodbye, apology) and short
    backchannels are ignored.
    """

    def __init__(self, call: CallHandle, deps: SessionDeps) -> None:
        self._call = call
        self.store = GuardedRecorder(deps.recorder, deps.clock, deps.stage_timeout_s)
        deps = replace(deps, recorder=self.store)  # every write of the call: bounded
        self._d = deps
        self.stream = CallEvents(call.call_id, deps.recorder, deps.observer, deps.clock)
        self.voice = AgentVoice(call, deps, self.stream)
        reply = ReplyHandle()
        self.caller = CallerInput(call, deps, self.voice, reply, self.stream)
        self.conversation = Conversation(call, deps, self.stream, self.voice, self.caller, reply)

    @property
    def events(self) -> list[SessionEvent]:
        return self.stream.events

    async def run(self) -> str:
        d, call_id = self._d, self._call.call_id
        started = d.clock.monotonic()
        caller_key = d.caller_hash(self._call.remote) if d.caller_hash else ""
        self.conversation.caller_key = caller_key
        refused = await self._start_call(caller_key)
        self.stream.emit(EventKind.ANSWERED)
        listener = asyncio.create_task(self.caller.listen(), name=f"listen-{call_id}")
        keys = asyncio.create_task(self.caller.payment.consume(self._call), name=f"keys-{call_id}")
        outcome = "failed"
        try:
            if refused is not None:
                raise refused  # no record of the call: apologise and end it
            outcome = await self._race(self.conversation.run(started))
        except ApplianceError as exc:
            await self._fail(exc)
        except Exception as exc:  # any crash must end in an apology
            await self._fail(ApplianceError("session-failed", type(exc).__name__))
        finally:
            listener.cancel()
            keys.cancel()
            await asyncio.gather(listener, keys, return_exceptions=True)
            await self.caller.close()
            self.stream.emit(EventKind.ENDED, code=outcome)
            await asyncio.shield(self._close(outcome))
        return outcome

    async def _start_call(self, caller_key: str) -> ApplianceError | None:
        """Record the call's start; the store's error instead of raising it."""
        d = self._d
        try:
            call = self._call
            await d.recorder.start_call(call.call_id, d.clock.time(), call.codec, caller_key)
        except ApplianceError as exc:
            return exc
        return None

    async def _close(self, outcome: str) -> None:
        """Store the call's events, then its end (even if some event was refused).

        Never raises: a store error here is logged and counted (once per call)."""
        d = self._d
        try:
            await self.stream.flush()
        except ApplianceError as exc:
            self._store_failed(exc)
        try:
            await d.recorder.end_call(self._call.call_id, d.clock.time(), outcome)
        except ApplianceError as exc:
            self._store_failed(exc)
        if d.tracer is not None:  # after the call's end: never holds the caller
            await d.tracer.record(self._call.call_id, list(self.stream.events))
        held = self.conversation.held  # the quality sample: kept or dropped now
        await held.finish(outcome, self.stream.events, d.clock, d.stage_timeout_s)

    def _store_failed(self, exc: ApplianceError) -> None:
        """A store error after the call's end was decided: logged, counted once per call."""
        logger.error(
            "call record not stored",
            extra={"call_id": self._call.call_id, "stage": "store", "code": exc.code},
        )
        counted = any(
            e.kind is EventKind.STAGE_FAILED and e.stage == "store" for e in self.stream.events
        )
        if not counted:  # kept and counted; not stored (the store is what failed)
            self.stream.emit(EventKind.STAGE_FAILED, stage="store", code=exc.code, store=False)

    async def _race(self, work: Awaitable[str]) -> str:
        """Run `work` until it finishes or the caller hangs up, whichever is first."""
        task = asyncio.ensure_future(work)
        ended = asyncio.create_task(self._call_ended())
        refused = asyncio.create_task(self.stream.refused.wait())
        try:
            done, _ = await asyncio.wait(
                {task, ended, refused}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ended.cancel()
            refused.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, ended, refused, return_exceptions=True)
        if task in done or not task.cancelled():
            return task.result()
        if refused in done and self.stream.error is not None:
            raise self.stream.error  # an event the store refused: the call cannot go on
        return "caller-hung-up"

    async def _call_ended(self) -> None:
        await self.caller.gone.wait()

    async def _fail(self, exc: ApplianceError) -> None:
        call_id = self._call.call_id
        logger.error(
            "stage failed",
            extra={"call_id": call_id, "stage": exc.stage, "code": exc.code},
        )
        self.stream.emit(EventKind.STAGE_FAILED, stage=exc.stage, code=exc.code)
        if self.caller.gone.is_set():
            return
        try:
            self.voice.stop()
            late = ApplianceError("apology-timeout", "the apology was not played")
            await within(self._d.clock, 30.0, self.voice.say(Prompt.APOLOGY), late)
        except StoreError as again:  # played in full; only its record was refused
            self._store_failed(again)
        except ApplianceError as again:
            logger.error("apology failed", extra={"call_id": call_id, "code": again.code})
        try:
            await self._call.hangup()
        except ApplianceError as again:
            logger.error("hang-up failed", extra={"call_id": call_id, "code": again.code})

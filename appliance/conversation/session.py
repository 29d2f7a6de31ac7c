"""One call: greet, then listen -> transcribe -> think -> speak, until goodbye or hang-up.

Stages are joined by typed data. Any stage failure becomes a coded error; the
caller then hears the cached apology and the call ends politely (never dead air).
All time comes from `deps.clock` (tests run on a virtual clock).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from appliance.conversation.early_stt import EarlyStt
from appliance.conversation.filler import Filler
from appliance.conversation.playout import Playout
from appliance.conversation.prompts import Prompt
from appliance.conversation.session_base import SessionDeps
from appliance.conversation.timing import within
from appliance.conversation.turns import TurnsMixin, is_goodbye
from appliance.domain import CallState, ChatMessage, SessionEvent, Transcript, Utterance
from appliance.errors import ApplianceError
from appliance.governance.pci import PaymentPause
from appliance.ports import CallHandle

__all__ = ["CallSession", "SessionDeps", "is_goodbye"]

logger = logging.getLogger(__name__)


class CallSession(TurnsMixin):
    """Runs one call to its end.

    Returns "completed", "caller-hung-up", "no-response" (closed after the re-prompts)
    or "failed". The caller is heard all the time: speech over interruptible agent audio
    (replies, filler, re-prompts) stops it and cancels the reply (barge-in); speech over
    protected audio (greeting with the AI disclosure, goodbye, apology) and short
    backchannels are ignored.
    """

    def __init__(self, call: CallHandle, deps: SessionDeps) -> None:
        self._call = call
        self._d = deps
        self._queue: asyncio.Queue[Utterance | ApplianceError | None] = asyncio.Queue()
        self._ended = asyncio.Event()
        self._history: list[ChatMessage] = []
        self._playing = False  # agent audio is queued or going out
        self._interruptible = False  # ... and the caller may cut it
        self._caller_speaking = False
        self._current: asyncio.Future[object] | None = None  # work a barge-in cancels
        self._stopped_at: float | None = None  # monotonic s of the last barge-in stop
        self._out = Playout(call, deps.clock)  # all agent audio: pause/resume for barge-in
        audio = deps.cache.get(Prompt.FILLER)
        self._filler = Filler(
            self._out, deps.clock, audio, self._filler_started, self._quiet,
            deps.policy.filler_every_s,
        )  # fmt: skip
        self.state = CallState.GREET
        self.events: list[SessionEvent] = []
        self.payment = PaymentPause(deps.pci, deps.clock)  # PCI pause: no audio, digits counted
        self._judging: set[asyncio.Task[None]] = set()  # words of barge-ins into a pause
        self._heard: dict[int, Transcript] = {}  # id(utterance) -> its transcript, if known
        self._early = EarlyStt(deps.stt)  # STT from the first pause of a turn

    async def run(self) -> str:
        d, call_id = self._d, self._call.call_id
        self._started = d.clock.monotonic()
        await d.recorder.start_call(call_id, d.clock.time(), self._call.codec, "")
        d.observer.call_started()
        self._event("answered")
        listener = asyncio.create_task(self._listen(), name=f"listen-{call_id}")
        keys = asyncio.create_task(self.payment.consume(self._call), name=f"keys-{call_id}")
        outcome = "failed"
        try:
            outcome = await self._race(self._converse())
        except ApplianceError as exc:
            await self._fail(exc)
        except Exception as exc:  # any crash must end in an apology
            await self._fail(ApplianceError("session-failed", type(exc).__name__))
        finally:
            listener.cancel()
            keys.cancel()
            await asyncio.gather(listener, keys, return_exceptions=True)
            await self._stop_judging()
            await self._early.close()
            self.state = CallState.END
            self._event("ended", code=outcome)
            await asyncio.shield(d.recorder.end_call(call_id, d.clock.time(), outcome))
            d.observer.call_ended(outcome)
        return outcome

    async def _race(self, work: Awaitable[str]) -> str:
        """Run `work` until it finishes or the caller hangs up, whichever is first."""
        task = asyncio.ensure_future(work)
        ended = asyncio.create_task(self._ended.wait())
        try:
            done, _ = await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, ended, return_exceptions=True)
        if task in done or not task.cancelled():
            return task.result()
        return "caller-hung-up"

    async def _fail(self, exc: ApplianceError) -> None:
        d, call_id = self._d, self._call.call_id
        logger.error(
            "stage failed",
            extra={"call_id": call_id, "stage": exc.stage, "code": exc.code},
        )
        self._event("stage-failed", stage=exc.stage, code=exc.code)
        d.observer.stage_failed(exc.stage, exc.code)
        await asyncio.shield(
            d.recorder.add_event(call_id, "stage-failed", exc.stage, exc.code, d.clock.time())
        )
        if self._ended.is_set():
            return
        try:
            self._out.stop()
            late = ApplianceError("apology-timeout", "the apology was not played")
            await within(d.clock, 30.0, self._say(Prompt.APOLOGY, d.prompts.apology), late)
            await self._call.hangup()
        except ApplianceError as again:
            logger.error("apology failed", extra={"call_id": call_id, "code": again.code})
            await self._call.hangup()

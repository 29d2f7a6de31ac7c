"""The one event stream of a call: every stage and decision, in order.

`CallEvents.emit` is called by the session's parts (never awaited: it is safe in the
frame loop). Each event is kept in `events` (what the tests and, later, the scoring and
tracing read), counted in the metrics (`SessionObserver`) and stored in the encrypted
store (call_events; the `AUDITED` kinds also in the audit log) by a writer task in the
order they happened. `flush` waits for the store; the session flushes before the call's
end is recorded. Metadata only: kinds, stages, codes and timings, never words or audio.
"""

from __future__ import annotations

import asyncio
import logging

from appliance.domain import AUDITED, CallId, EventKind, SessionEvent
from appliance.errors import ApplianceError
from appliance.ports import CallRecorder, Clock, SessionObserver

logger = logging.getLogger(__name__)

# turn timings (TurnTimings and Turn.extra keys) -> the stage histogram they feed
REPLY_STAGES = {
    "end_of_turn": "end_of_turn",
    "stt_done": "stt",
    "llm_first_token": "llm_first_token",
    "first_sentence": "first_sentence",
    "tts_first_audio": "tts_first_audio",
    "first_audio_out": "turn_gap",
    "reply_audio_out": "reply_audio_out",
    "filler": "filler",
}
# the first event of a caller turn: where the barge-in stop time of the turn is counted
TURN_JUDGED = frozenset({EventKind.HEARD, EventKind.NOT_HEARD, EventKind.SPEECH_IGNORED})


class CallEvents:
    """The event stream of one call: kept, counted and stored."""

    def __init__(
        self, call_id: CallId, recorder: CallRecorder, observer: SessionObserver, clock: Clock
    ) -> None:
        self.call_id = call_id
        self.events: list[SessionEvent] = []
        self._recorder = recorder
        self._observer = observer
        self._clock = clock
        self._unsaved: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._error: ApplianceError | None = None  # the first event the store refused
        self.refused = asyncio.Event()  # set when the store refused an event (session fails)

    def emit(
        self,
        kind: EventKind,
        *,
        stage: str | None = None,
        code: str | None = None,
        timings: dict[str, float | None] | None = None,
        store: bool = True,
    ) -> SessionEvent:
        """Keep, count and (unless `store` is False: the store itself failed) store it."""
        event = SessionEvent(self.call_id, kind, self._clock.time(), stage, code, timings or {})
        self.events.append(event)
        self._measure(event)
        if not store:
            return event
        self._unsaved.put_nowait(event)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"events-{self.call_id}")
        return event

    @property
    def error(self) -> ApplianceError | None:
        """The first store error an event met, if any."""
        return self._error

    async def flush(self) -> None:
        """Wait until every event so far is stored; raise the first store error, if any."""
        await self._unsaved.join()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        if self._error is not None:
            raise self._error

    async def _write(self) -> None:
        while True:
            event = await self._unsaved.get()
            try:
                await self._recorder.add_event(
                    self.call_id,
                    event.kind.value,
                    event.stage,
                    event.code,
                    event.at,
                    event.kind in AUDITED,
                )
            except ApplianceError as exc:
                if self._error is None:  # logged once: the later ones are refused fast
                    self._error = exc
                    self.refused.set()
                    extra = {"call_id": self.call_id, "stage": "store", "code": exc.code}
                    logger.error("call event not stored", extra=extra)
            finally:
                self._unsaved.task_done()

    def _measure(self, event: SessionEvent) -> None:
        """The metrics of an event (closed label values only)."""
        observer, timings = self._observer, event.timings
        match event.kind:
            case EventKind.ANSWERED:
                observer.call_started()
            case EventKind.ENDED:
                observer.call_ended(event.code or "failed")
            case EventKind.STAGE_FAILED:
                observer.stage_failed(event.stage or "session", event.code or "failed")
            case EventKind.GREETED:
                self._time("greeting_first_audio", timings.get("first_audio_out"))
            case EventKind.REPLIED:
                for key, stage in REPLY_STAGES.items():
                    self._time(stage, timings.get(key))
        if event.kind in TURN_JUDGED:
            self._time("barge_in_stop", timings.get("barge_in_stop"))

    def _time(self, stage: str, seconds: float | None) -> None:
        if seconds is not None:
            self._observer.stage_time(stage, seconds)

"""Speculative transcription: start STT at the first pause of a turn, not at its end.

The VAD ends a turn after `[vad] min_silence_ms` (700 ms) of silence, but it offers the
turn so far after `early_stt_ms` (300 ms) of it (`EndOfTurnDetector.tentative`). STT starts
on that at once; if the turn does end at this pause, the final utterance has the same
audio, and its transcript is ready or nearly so: the turn gap shrinks by up to
the difference of the two silences. If the caller speaks on, the speculation is
cancelled (a wasted transcription, counted in `wasted`).
"""

from __future__ import annotations

import asyncio
import contextlib

from appliance.domain import Transcript, Utterance
from appliance.ports import SpeechToText


class EarlyStt:
    """At most one speculative transcription at a time, for one call."""

    def __init__(self, stt: SpeechToText) -> None:
        self._stt = stt
        self._task: asyncio.Task[Transcript] | None = None
        self._audio: bytes | None = None  # the PCM being transcribed
        self.started = 0
        self.wasted = 0  # cancelled because the caller went on, or the span changed

    def offer(self, tentative: Utterance) -> None:
        """The turn so far, at a pause: transcribe it now."""
        self.cancel()
        self._audio = tentative.audio.pcm
        self._task = asyncio.create_task(self._stt.transcribe(tentative))
        self.started += 1

    def cancel(self) -> None:
        """The caller spoke on (or the agent's audio took over): drop the speculation."""
        if self._task is not None:
            if not self._task.done():
                self.wasted += 1
            self._task.cancel()
            self._task.add_done_callback(_consume)
        self._task, self._audio = None, None

    def ready(self) -> Transcript | None:
        """The speculative transcript, once it is done (it stays to be taken)."""
        task = self._task
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None
        return task.result()

    async def take(self, final: Utterance) -> Transcript | None:
        """The transcript of `final` if the speculation transcribed exactly its audio.

        (Its times may differ by a few ms: the VAD computes them from the latest chunk's
        arrival time, which jitters.)
        """
        task, audio = self._task, self._audio
        self._task, self._audio = None, None
        if task is None:
            return None
        if audio != final.audio.pcm:
            self.wasted += 1
            task.cancel()
            task.add_done_callback(_consume)
            return None
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return None
        except Exception:  # a failing speculation: the turn transcribes again, as usual
            return None

    async def close(self) -> None:
        task = self._task
        self.cancel()
        if task is not None:
            with contextlib.suppress(BaseException):
                await task


def _consume(task: asyncio.Task[Transcript]) -> None:
    """Retrieve a dropped task's outcome so that asyncio does not warn about it."""
    if not task.cancelled():
        task.exception()

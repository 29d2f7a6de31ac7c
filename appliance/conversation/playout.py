"""The agent's outgoing audio for one call, with pause and resume for a fast barge-in.

Caller speech pauses interruptible audio at once (the queued frames are dropped, as for a
stop), before the end-of-turn VAD has confirmed that it is speech; if it was noise or a
short backchannel the audio resumes, else the session stops it for good. To know what
the caller has not heard yet, `Playout` keeps a model of the playout: each queued chunk
starts when the previous one ends (or when it is queued, on a quiet line). A resume
restarts the chunk that was cut (one sentence: TTS yields one chunk per sentence).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from appliance.audio import AudioChunk
from appliance.ports import CallHandle, Clock


@dataclass(slots=True)
class _Queued:
    start: float  # monotonic s the chunk starts playing, in the model
    chunk: AudioChunk

    @property
    def end(self) -> float:
        return self.start + self.chunk.duration


class Playout:
    """Implements the audio half of CallHandle (play, drain, stop) over a call."""

    def __init__(self, call: CallHandle, clock: Clock) -> None:
        self._call = call
        self._clock = clock
        self._queued: list[_Queued] = []  # chunks since the line was last quiet
        self._held: list[AudioChunk] = []  # not heard yet, while paused
        self._resumed = asyncio.Event()  # set unless paused
        self._resumed.set()
        self._first: float | None = None  # model time of the first chunk since drain()
        self._heard_from: float | None = None  # ... when a pause cut it after it started
        self.paused_at: float | None = None  # monotonic s of the current pause

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    async def play(self, chunk: AudioChunk) -> None:
        """Queue audio for the caller; while paused it is held until resume()."""
        if self.paused:
            self._held.append(chunk)
            return
        await self._queue(chunk)

    async def drain(self) -> float | None:
        """Wait until all queued audio was sent, including audio held by a pause.

        Returns when the first frame left (monotonic s), or None if nothing played.
        """
        first: float | None = None
        while True:
            sent = await self._call.drain()
            first = sent if first is None else first
            if not self.paused:
                break
            await self._resumed.wait()
        heard, self._heard_from, self._first = self._heard_from, None, None
        if heard is not None and (first is None or heard < first):
            return heard  # audio was heard before a pause cut it; the call forgot it
        return first

    def next_start(self) -> float:
        """When audio queued now would start playing (monotonic s, the playout model)."""
        now = self._clock.monotonic()
        ends = [q.end for q in self._queued if q.end > now]
        return max(ends) if ends and not self.paused else now

    def pause(self) -> None:
        """Stop the audio at once and keep what the caller has not heard yet."""
        if self.paused:
            return
        now = self._clock.monotonic()
        self._call.stop_playback()
        cut = [q.chunk for q in self._queued if q.end > now]  # the one playing, and later
        if self._first is not None and self._first <= now and self._heard_from is None:
            self._heard_from = self._first
        self._held = cut + self._held
        self._queued.clear()
        self.paused_at = now
        self._resumed.clear()

    async def resume(self) -> None:
        """Play what the pause held back, from the start of the chunk that was cut."""
        if not self.paused:
            return
        held, self._held = self._held, []
        self.paused_at = None
        for chunk in held:
            await self._queue(chunk)
        self._resumed.set()

    def stop(self) -> None:
        """Drop all queued and held audio for good (barge-in, failure)."""
        self._call.stop_playback()
        self._held.clear()
        self._queued.clear()
        self._first = self._heard_from = None  # the next drain() is about new audio
        self.paused_at = None
        self._resumed.set()

    async def _queue(self, chunk: AudioChunk) -> None:
        now = self._clock.monotonic()
        self._queued = [q for q in self._queued if q.end > now]
        start = self._queued[-1].end if self._queued else now
        if self._first is None:
            self._first = start
        self._queued.append(_Queued(start, chunk))
        await self._call.play(chunk)

"""`PjsipCall`: one live SIP call as the agent plane sees it (implements `CallHandle`).

Everything here runs on the asyncio event loop, except the methods whose names start
with `media_` or `sip_`: the media thread and the endpoint thread call those, and they
only hand work to the loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from appliance.audio import AudioChunk, frames, resample
from appliance.domain import CallId, new_call_id
from appliance.telephony.media import FRAME_BYTES, PORT_RATE, Outbox

logger = logging.getLogger(__name__)

RX_QUEUE_FRAMES = 250  # 5 s of caller audio; older frames are dropped if nobody reads
HANGUP_WAIT_S = 2.0  # s to wait for the call to be disconnected after a local hangup
DRAIN_POLL_S = 0.1  # s: safety net while waiting for the media thread to empty the outbox

Hangup = Callable[[], Awaitable[None]]


class PjsipCall:
    """A call answered or placed by `PjsipTelephony`; audio is 16 kHz s16 mono."""

    def __init__(self, loop: asyncio.AbstractEventLoop, direction: str) -> None:
        self._loop = loop
        self._call_id = new_call_id()
        self.direction = direction  # "inbound" | "outbound"
        self._codec = ""
        self.answered_at: float | None = None  # monotonic s when media became active
        self.ended_at: float | None = None  # monotonic s
        self.remote_ended = False  # True when the far end hung up, vanished or refused
        self.end_reason: str | None = None  # "remote-hangup" | "local-hangup" | "rtp-timeout"
        self.status_code: int | None = None  # last SIP status code, once ended
        self.rx_dropped = 0  # caller frames dropped because the consumer was stuck
        self._rx: asyncio.Queue[AudioChunk | None] = asyncio.Queue(RX_QUEUE_FRAMES)
        self._ended = asyncio.Event()
        self._active = asyncio.Event()
        self.sip_key = 0  # the endpoint thread's key for this call's leg
        self._drained = asyncio.Event()
        self.outbox = Outbox(self.media_emptied)
        self._batch = 0  # number of the current batch of queued audio (0: none open)
        self._batches = 0
        self._remainder = b""  # < 20 ms of audio waiting for the next play() or drain()
        self._hangup: Hangup | None = None

    # --- CallHandle ----------------------------------------------------------------

    @property
    def call_id(self) -> CallId:
        return self._call_id

    @property
    def rate(self) -> int:
        return PORT_RATE

    @property
    def codec(self) -> str:
        return self._codec

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def frames(self) -> AsyncIterator[AudioChunk]:
        """Caller audio, 20 ms per chunk; ends when the call ends."""
        while True:
            chunk = await self._rx.get()
            if chunk is None:
                self._rx.put_nowait(None)  # let any other reader end too
                return
            yield chunk

    async def play(self, chunk: AudioChunk) -> None:
        """Queue audio for the caller. Audio played after the call ended is discarded."""
        if self.ended or not chunk.pcm:
            return
        pcm = self._remainder + resample(chunk.pcm, chunk.rate, PORT_RATE)
        whole = len(pcm) - len(pcm) % FRAME_BYTES
        self._remainder = pcm[whole:]
        self._enqueue(frames(pcm[:whole], PORT_RATE))

    async def drain(self) -> float | None:
        """Wait until queued audio was handed to PJSIP; return when its first frame left."""
        if self._remainder:
            self._enqueue(frames(self._remainder, PORT_RATE))
            self._remainder = b""
        batch, self._batch = self._batch, 0
        if not batch:
            return None
        while self.outbox.pending() and not self.ended:
            self._drained.clear()
            if not self.outbox.pending():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), DRAIN_POLL_S)
        return self.outbox.sent_at(batch)

    def stop_playback(self) -> None:
        """Drop all queued audio at once (barge-in)."""
        self._remainder = b""
        self.outbox.clear()
        if self._batch and not self.outbox.was_sent(self._batch):
            self._batch = 0  # none of it left: the next play() starts a new batch
        self._drained.set()

    async def hangup(self) -> None:
        """Hang up (idempotent); returns once the call is disconnected or after 2 s."""
        if self.ended:
            return
        if self._hangup is not None:
            await self._hangup()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), HANGUP_WAIT_S)

    async def wait_ended(self) -> None:
        await self._ended.wait()

    async def wait_answered(self, within: float) -> bool:
        """Wait until media is active (True) or the call ended / `within` s passed (False)."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self._active, self._ended)]
        try:
            await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        return self._active.is_set() and not self.ended

    # --- internals -----------------------------------------------------------------

    def _enqueue(self, queued: list[bytes]) -> None:
        if not queued:
            return
        if not self._batch:
            self._batches += 1
            self._batch = self._batches
            self.outbox.put(queued, self._batch)
        else:
            self.outbox.put(queued, 0)
        self._drained.clear()

    def bind(self, hangup: Hangup) -> None:
        self._hangup = hangup

    def set_active(self, codec: str) -> None:
        """Media became active (loop side)."""
        self._codec = codec
        if self.answered_at is None:
            self.answered_at = time.monotonic()
        self._active.set()

    def set_ended(self, remote: bool, status_code: int, reason: str) -> None:
        """The call is disconnected (loop side): end frames() and wake drain()."""
        if self.ended:
            return
        self.remote_ended = remote
        self.end_reason = reason
        self.status_code = status_code
        self.ended_at = time.monotonic()
        self._ended.set()
        self._drained.set()
        self.outbox.clear()
        self._push(None)

    def _push(self, chunk: AudioChunk | None) -> None:
        if self._rx.full():
            self._rx.get_nowait()
            self.rx_dropped += 1
        self._rx.put_nowait(chunk)

    def _deliver(self, pcm: bytes, at: float) -> None:
        if not self.ended:
            self._push(AudioChunk(pcm, PORT_RATE, at))

    # --- called from other threads -------------------------------------------------

    def media_frame(self, pcm: bytes, at: float) -> None:
        """A caller frame arrived (media thread)."""
        self._threadsafe(self._deliver, pcm, at)

    def media_emptied(self) -> None:
        """The last queued frame was handed to PJSIP (media thread)."""
        self._threadsafe(self._drained.set)

    def sip_active(self, codec: str) -> None:
        self._threadsafe(self.set_active, codec)

    def sip_ended(self, remote: bool, status_code: int, reason: str) -> None:
        self._threadsafe(self.set_ended, remote, status_code, reason)

    def _threadsafe(self, fn: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(fn, *args)

"""The agent's audio towards the caller on one call: 20 ms frames queued in an `Outbox`
that the media thread empties, in batches (one per reply) whose first frame's send time
`drain()` reports (the turn gap is measured from it). Runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from appliance.audio import frames
from appliance.sip.media import FRAME_BYTES, PORT_RATE, Outbox

DRAIN_POLL_S = 0.1  # s: safety net while waiting for the media thread to empty the outbox


class Playback:
    """Queued outgoing audio at PORT_RATE; `on_emptied` is called on the media thread."""

    def __init__(self, on_emptied: Callable[[], None]) -> None:
        self.outbox = Outbox(on_emptied)
        self.drained = asyncio.Event()  # set when the outbox ran empty (or the call ended)
        self._batch = 0  # number of the current batch of queued audio (0: none open)
        self._batches = 0
        self._remainder = b""  # < 20 ms of audio waiting for the next play() or drain()

    def play(self, pcm: bytes) -> None:
        """Queue `pcm` (s16 mono at PORT_RATE); whole 20 ms frames go out, the rest waits."""
        pcm = self._remainder + pcm
        whole = len(pcm) - len(pcm) % FRAME_BYTES
        self._remainder = pcm[whole:]
        self._enqueue(frames(pcm[:whole], PORT_RATE))

    async def drain(self, ended: Callable[[], bool]) -> float | None:
        """Wait until queued audio was handed to PJSIP (or `ended()`); return when the
        batch's first frame left (None if nothing was queued)."""
        if self._remainder:
            self._enqueue(frames(self._remainder, PORT_RATE))
            self._remainder = b""
        batch, self._batch = self._batch, 0
        if not batch:
            return None
        while self.outbox.pending() and not ended():
            self.drained.clear()
            if not self.outbox.pending():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), DRAIN_POLL_S)
        return self.outbox.sent_at(batch)

    def stop(self) -> None:
        """Drop all queued audio at once (barge-in)."""
        self._remainder = b""
        self.outbox.clear()
        if self._batch and not self.outbox.was_sent(self._batch):
            self._batch = 0  # none of it left: the next play() starts a new batch
        self.drained.set()

    def _enqueue(self, queued: list[bytes]) -> None:
        if not queued:
            return
        if not self._batch:
            self._batches += 1
            self._batch = self._batches
            self.outbox.put(queued, self._batch)
        else:
            self.outbox.put(queued, 0)
        self.drained.clear()

"""No dead air: a short cached filler ("One moment.") when the reply is late."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from appliance.audio import AudioChunk
from appliance.ports import Clock


class Player(Protocol):
    async def play(self, chunk: AudioChunk) -> None: ...


class Filler:
    """Queues the filler audio at a deadline unless other agent audio comes first.

    While no other audio follows, the filler is repeated after `every_s` of silence
    (0: once). `on_start` runs each time it begins; `on_quiet` when it has played out
    and nothing followed it (the line is silent again).
    """

    def __init__(
        self,
        call: Player,  # the call's Playout (or the call itself)
        clock: Clock,
        audio: list[AudioChunk],
        on_start: Callable[[], None],
        on_quiet: Callable[[], None],
        every_s: float = 0.0,
    ) -> None:
        self._call = call
        self._clock = clock
        self._audio = audio
        self._on_start = on_start
        self._on_quiet = on_quiet
        self._every_s = every_s
        self._task: asyncio.Task[None] | None = None
        self._queueing = False
        self.started_at: float | None = None  # monotonic s the armed filler began, if it did

    def arm(self, at: float) -> None:
        """Play the filler at `at` (monotonic s)."""
        self._queueing = False
        self.started_at = None
        self._task = asyncio.create_task(self._play(at))

    async def disarm(self, wait: bool) -> None:
        """Other audio is about to play: with `wait`, let a filler being queued finish first
        (so the two never interleave); otherwise, and if it has not started, cancel it."""
        task, self._task = self._task, None
        if task is None:
            return
        if wait and self._queueing:
            await task
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _play(self, at: float) -> None:
        clock = self._clock
        await clock.sleep(max(0.0, at - clock.monotonic()))
        while True:
            self._queueing = True
            if self.started_at is None:
                self.started_at = clock.monotonic()
            self._on_start()
            for chunk in self._audio:
                await self._call.play(chunk)
            self._queueing = False
            await clock.sleep(sum(c.duration for c in self._audio))
            if self._task is None:
                return
            self._on_quiet()  # nothing was queued after it: the line is silent again
            if self._every_s <= 0:
                return
            await clock.sleep(self._every_s)

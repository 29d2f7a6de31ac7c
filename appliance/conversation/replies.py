"""Replies: text deltas to sentences as soon as each is complete; the handle on the
current reply that a barge-in interrupts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import TypeVar, cast

from appliance.conversation.sentences import (
    MIN_CLAUSE_CHARS,
    MIN_FIRST_CLAUSE_CHARS,
    clean,
    split_ready,
)
from appliance.conversation.timing import paced
from appliance.domain import TurnTimings
from appliance.errors import ChatModelError
from appliance.ports import Clock

T = TypeVar("T")


@dataclass(slots=True)
class Turn:
    """Timings of one caller turn, relative to the end of the caller's speech."""

    anchor: float  # monotonic s: end of the caller's speech
    timings: TurnTimings = field(default_factory=TurnTimings)
    extra: dict[str, float | None] = field(default_factory=dict)  # e.g. barge_in_stop

    def as_dict(self) -> dict[str, float | None]:
        return {**self.timings.as_dict(), **self.extra}


async def stream_sentences(
    text: AsyncIterator[str],
    clock: Clock,
    gap_s: float,
    out: asyncio.Queue[str | None],
    turn: Turn,
) -> None:
    """Stream the reply's `text` into `out` sentence by sentence (None at the end).

    Records first-token and first-sentence times on `turn`; raises llm-timeout when the
    agent plane is silent for `gap_s` between deltas.
    """
    t, buffer = turn.timings, ""
    try:
        async for delta in paced(
            clock,
            text,
            gap_s,
            ChatModelError("llm-timeout", "the language model stopped answering"),
        ):
            if t.llm_first_token is None:
                t.llm_first_token = clock.monotonic() - turn.anchor
            buffer += delta
            first = t.first_sentence is None
            ready, buffer = split_ready(
                buffer, MIN_FIRST_CLAUSE_CHARS if first else MIN_CLAUSE_CHARS
            )
            for sentence in ready:
                if t.first_sentence is None:
                    t.first_sentence = clock.monotonic() - turn.anchor
                out.put_nowait(sentence)
        if tail := clean(buffer):
            if t.first_sentence is None:
                t.first_sentence = clock.monotonic() - turn.anchor
            out.put_nowait(tail)
    finally:
        out.put_nowait(None)


class ReplyHandle:
    """The agent's work on the current turn (a reply, a re-prompt): a barge-in interrupts
    it. One at a time; `run` returns None when it was interrupted."""

    def __init__(self) -> None:
        self._task: asyncio.Future[object] | None = None

    async def run(self, work: Coroutine[object, object, T]) -> T | None:
        task = asyncio.ensure_future(work)
        self._task = cast("asyncio.Future[object]", task)
        try:
            await asyncio.wait({task})
        finally:
            self._task = None
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.cancelled():
            return None
        return task.result()

    def interrupt(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

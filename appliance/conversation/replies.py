"""Streaming replies: LLM text deltas to sentences as soon as each is complete."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from appliance.conversation.sentences import (
    MIN_CLAUSE_CHARS,
    MIN_FIRST_CLAUSE_CHARS,
    clean,
    split_ready,
)
from appliance.conversation.timing import paced
from appliance.domain import ChatMessage, TurnTimings
from appliance.errors import ChatModelError
from appliance.ports import ChatModel, Clock


@dataclass(slots=True)
class Turn:
    """Timings of one caller turn, relative to the end of the caller's speech."""

    anchor: float  # monotonic s: end of the caller's speech
    timings: TurnTimings = field(default_factory=TurnTimings)
    extra: dict[str, float | None] = field(default_factory=dict)  # e.g. barge_in_stop

    def as_dict(self) -> dict[str, float | None]:
        return {**self.timings.as_dict(), **self.extra}


async def stream_sentences(
    llm: ChatModel,
    messages: list[ChatMessage],
    clock: Clock,
    gap_s: float,
    out: asyncio.Queue[str | None],
    turn: Turn,
) -> None:
    """Stream the LLM reply into `out` sentence by sentence (None at the end).

    Records first-token and first-sentence times on `turn`; raises llm-timeout when the
    model is silent for `gap_s` between tokens.
    """
    t, buffer = turn.timings, ""
    try:
        async for delta in paced(
            clock,
            llm.stream(messages),
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

"""Streaming replies: the first piece goes to TTS as soon as a clause is complete."""

from __future__ import annotations

import asyncio

import pytest

from appliance.conversation.replies import Turn, stream_sentences
from appliance.conversation.sentences import split_ready
from appliance.domain import ChatMessage
from tests.fakes import FakeLlm

pytestmark = pytest.mark.unit

REPLY = (
    "Sure, we are open from eight to five on weekdays, and on Saturday mornings we have "
    "a nurse line, which is for urgent questions only. Anything else?"
)


async def test_the_first_clause_is_spoken_before_the_sentence_is_done(clock) -> None:
    out: asyncio.Queue[str | None] = asyncio.Queue()
    turn = Turn(anchor=clock.monotonic())
    llm = FakeLlm(clock, [REPLY], delay=0.2, token_s=0.05)
    await clock.run(
        stream_sentences(llm.stream([ChatMessage("user", "hours?")]), clock, 5.0, out, turn)
    )
    pieces = []
    while (piece := out.get_nowait()) is not None:
        pieces.append(piece)
    assert pieces == [
        "Sure, we are open from eight to five on weekdays,",  # "Sure," alone is too short
        "and on Saturday mornings we have a nurse line, which is for urgent questions only.",
        "Anything else?",
    ]  # after the first piece, commas cut only long clauses (60 chars)
    # the first piece was ready after its 10th word: 0.2 s + 9 gaps of 0.05 s
    assert turn.timings.first_sentence == pytest.approx(0.2 + 9 * 0.05)


def test_split_ready_cuts_short_clauses_only_when_asked() -> None:
    text = "Sure, we are open on weekdays, and"
    assert split_ready(text) == ([], text)
    assert split_ready(text, 24) == (["Sure, we are open on weekdays,"], "and")

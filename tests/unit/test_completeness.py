"""Semantic end of turn: which transcripts read as a finished turn."""

from __future__ import annotations

import pytest

from appliance.conversation.completeness import looks_complete
from appliance.domain import Transcript

pytestmark = pytest.mark.unit


def heard(text: str, logprob: float = -0.3, no_speech: float = 0.05) -> Transcript:
    return Transcript(text, "en", logprob, no_speech, 2.0)


@pytest.mark.parametrize(
    "text",
    [
        "What time do you open on Saturday?",
        " I'd like to book an appointment. ",
        "Yes.",
        "Cancel my appointment please!",
        'He said "goodbye."',
    ],
)
def test_complete_turns(text: str) -> None:
    assert looks_complete(heard(text))


@pytest.mark.parametrize(
    "text",
    [
        "",  # nothing heard
        "I'd like to book an appointment with",  # no final mark
        "I'd like to book an appointment with the.",  # Whisper's period after an article
        "I need to see Doctor.",  # a title: the name comes next
        "Um.",  # hesitation
        "So I was wondering...",  # trailing off
        "My number is 555 0134.",  # digits come in groups, with pauses
        "and then because.",
    ],
)
def test_incomplete_turns(text: str) -> None:
    assert not looks_complete(heard(text))


def test_unsure_transcripts_wait_for_the_full_silence() -> None:
    assert not looks_complete(heard("What time do you open?", logprob=-1.4))
    assert not looks_complete(heard("What time do you open?", no_speech=0.7))
    assert looks_complete(heard("What time do you open?", logprob=-0.9, no_speech=0.4))

"""The spelling fixer never turns a caller's real word into a clinic word: "killing
myself" once read as "billing myself" (a billing request), so a caller in crisis was
sent to the billing desk instead of being told to get help now."""

from __future__ import annotations

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.intents import read
from appliance.workflows.wording import KEEP, normal

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("word", sorted(KEEP))
def test_real_words_near_clinic_words_stay_as_said(word: str) -> None:
    assert normal(f"i was {word} it") == f"i was {word} it"


@pytest.mark.parametrize(
    "line",
    [
        "i've been thinking about killing myself",
        "i keep thinking about killing myself",
        "I want to kill myself",
        "i'm going to end my life tonight",
    ],
)
def test_a_caller_in_crisis_is_an_emergency(line: str) -> None:
    assert read(line).intent == Intent.EMERGENCY


def test_misspellings_are_still_put_right() -> None:
    assert normal("I need to reschedual my apointment") == "i need to reschedule my appointment"

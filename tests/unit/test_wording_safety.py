"""The spelling fixer never turns a caller's real word into a clinic word: "killing
myself" once read as "billing myself" (a billing request), so a caller in crisis was
sent to the billing desk instead of being told to get help now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.intents import read
from appliance.workflows.wording import KEEP, _corrected, normal

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


WHISPER_VOCABULARY = (
    Path(__file__).resolve().parents[2] / "var" / "models" / "whisper-tiny.en" / "tokenizer.json"
)


def test_no_word_whisper_writes_whole_is_turned_into_another_word() -> None:
    """Every word of six letters or more that Whisper's vocabulary holds whole (a real word
    Whisper chose, not a misspelling) stays as said, or at most becomes its own inflection
    ("doctors" -> "doctor"). Before: 54 such words were changed ("painted" -> "fainted",
    "conscious" -> "unconscious", "barking" -> "parking", "description" ->
    "prescription")."""
    vocabulary = json.loads(WHISPER_VOCABULARY.read_text("utf-8"))["model"]["vocab"]
    words = {t[1:] for t in vocabulary if t.startswith("\u0120") and t[1:].isalpha()}
    changed = {
        w: got
        for w in words
        if w.islower()
        and len(w) >= 6
        and (got := _corrected(w)) != w
        and not (w.startswith(got) or got.startswith(w))
    }
    assert changed == {}


@pytest.mark.parametrize(
    ("line", "intent"),
    [
        ("she is conscious and talking now, can we book her a checkup", Intent.BOOK),
        ("my neighbor's dog keeps barking all night", Intent.OTHER),
        ("we painted the house last week, can i book a checkup", Intent.BOOK),
    ],
)
def test_real_words_keep_their_meaning(line: str, intent: Intent) -> None:
    assert read(line).intent == intent

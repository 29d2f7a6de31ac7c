"""The answering-machine heuristic on synthetic audio: a short hello and a pause is a
person, a long uninterrupted greeting is a machine, silence is a person."""

from __future__ import annotations

import pytest

from appliance.audio import AudioChunk
from appliance.outbound.amd import AmdSettings, GreetingClassifier
from tests.fakes import FRAME, RATE, tone

pytestmark = pytest.mark.unit

QUIET = AudioChunk(FRAME, RATE)
LOUD = tone(20)


def feed(amd: GreetingClassifier, pattern: list[tuple[bool, float]]) -> list[tuple[float, str]]:
    """Feed (voiced, seconds) spans; the times the verdict or the greeting's end changed."""
    seen: list[tuple[float, str]] = []
    state = ""
    for voiced, seconds in pattern:
        for _ in range(round(seconds / 0.02)):
            verdict = amd.feed(LOUD if voiced else QUIET)
            now = f"{verdict}{'+over' if amd.greeting_over else ''}"
            if now != state:
                state = now
                if verdict is not None:
                    seen.append((round(amd.heard_s, 2), now))
    return seen


def test_a_short_hello_then_a_pause_is_a_person() -> None:
    assert feed(GreetingClassifier(), [(False, 0.4), (True, 0.7), (False, 2.0)]) == [
        (1.7, "human"),  # 0.6 s of quiet after the hello
    ]


def test_a_long_greeting_is_a_machine_and_its_end_is_seen() -> None:
    pattern = [(False, 0.3), (True, 2.0), (False, 0.3), (True, 4.0), (False, 1.5)]
    assert feed(GreetingClassifier(), pattern) == [
        (3.3, "machine"),  # short pauses do not break the run: 3 s of it
        (7.6, "machine+over"),  # 1 s of quiet after the greeting
    ]


def test_two_short_phrases_with_a_real_pause_are_a_person() -> None:
    pattern = [(True, 1.0), (False, 0.7), (True, 2.5), (False, 1.0)]
    assert feed(GreetingClassifier(), pattern)[:2] == [(1.6, "human")]


def test_silence_is_a_person_and_the_thresholds_are_settings() -> None:
    assert feed(GreetingClassifier(), [(False, 3.0)])[-1] == (2.5, "human")
    quick = GreetingClassifier(AmdSettings(machine_s=1.0))
    assert feed(quick, [(True, 1.5)])[-1] == (1.0, "machine")

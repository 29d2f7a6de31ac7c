"""WER scoring: the normaliser (numbers and dates said or written the same), the entities
of a reference, jiwer's counts, the entity error rate and the bootstrap interval."""

from __future__ import annotations

import pytest

from appliance.quality.wer import LineScore, bootstrap_interval, score_line, summarise
from appliance.quality.wer_numbers import numerize
from appliance.quality.wer_text import entity_spans, normalise

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("April 4th", "april fourth"),
        ("April 4", "april four"),
        ("born nineteen eighty two", "Born 1982."),
        ("at ten thirty a.m.", "at 10:30 AM"),
        ("at two o'clock", "at 2:00"),
        ("at 2 p.m.", "at two pm"),
        ("five five five oh one two three", "555-0123"),
        ("the twenty first", "the 21st"),
        ("Dr. Alvarez", "doctor alvarez"),
        ("uh, OK, um, yes", "okay yes"),
        ("4/4/1982", "4 4 nineteen eighty two"),
    ],
)
def test_the_same_words_said_or_written_normalise_alike(said: str, written: str) -> None:
    assert normalise(said) == normalise(written)
    assert score_line(said, written).errors == 0


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("two thousand and five", "2005"),
        ("nineteen eighty two", "19 82"),
        ("twenty twenty six", "20 26"),
        ("one hundred and twenty three", "123"),
        ("oh four", "04"),
        ("the twenty second", "the 22"),
        ("wait a second", "wait a second"),
        ("oh april", "oh april"),
        ("a hundred", "a 100"),
    ],
)
def test_number_words_become_one_digit_string_per_number(said: str, digits: str) -> None:
    assert " ".join(numerize(said.split())) == digits


@pytest.mark.parametrize(
    ("one", "other"),
    [("April 4th", "April 14th"), ("1982", "1992"), ("Maria", "Marie"), ("two", "too")],
)
def test_different_words_stay_different(one: str, other: str) -> None:
    assert normalise(one) != normalise(other)


def test_entities_are_names_dates_and_numbers_of_the_reference() -> None:
    words, spans = entity_spans(
        "My name is Maria Lopez. I may see Dr. O'Brien next Tuesday at 2 pm, born May 3rd."
    )
    found = [" ".join(words[a:b]) for a, b in spans]
    # "My" and "I" are no names; "may" the verb is no month; "Dr." does not end a sentence
    assert found == ["maria lopez", "o'brien", "tuesday", "2", "may 3"]


def test_clinic_vocabulary_is_a_name_anywhere() -> None:
    words, spans = entity_spans("riverside is where i go", frozenset({"riverside"}))
    assert [" ".join(words[a:b]) for a, b in spans] == ["riverside"]


def test_a_sentence_may_start_with_a_name_when_a_name_follows() -> None:
    words, spans = entity_spans("Thanh Nguyen, born July 15th. Please call. Is Doctor Lee in?")
    found = [" ".join(words[a:b]) for a, b in spans]
    assert found == ["thanh nguyen", "july 1 5", "lee"]
    # adjacent entities are one run: punctuation does not survive normalising
    assert len(entity_spans("Thanh Nguyen, July 15th")[1]) == 1


def test_counts_substitutions_deletions_and_insertions() -> None:
    line = score_line("I need to cancel my appointment", "I need to handle my the appointment")
    assert (line.substitutions, line.deletions, line.insertions) == (1, 0, 1)
    assert line.ref_words == 6 and line.errors == 2


def test_an_entity_with_any_word_misheard_is_one_entity_error() -> None:
    said = "Maria Gonzalez, born April 4th, 1982."
    assert score_line(said, "Marie Gonzalez born April 4 1982").entity_errors == 1
    assert score_line(said, "Maria Gonzalez born April 4 1992").entity_errors == 1
    assert score_line(said, "maria gonzalez born april fourth nineteen eighty two") == LineScore(
        9, 0, 0, 0, 2, 0
    )
    # a digit inserted inside the date breaks it, one inserted after it does not
    assert score_line("on April 4 please", "on april 1 4 please").entity_errors == 1
    assert score_line("on April 4 please", "on april 4 please please").entity_errors == 0


def test_empty_sides() -> None:
    assert score_line("Call me on Monday", "") == LineScore(4, 0, 4, 0, 1, 1)
    assert score_line("", "hello there") == LineScore(0, 0, 0, 2, 0, 0)
    assert score_line("uh", "") == LineScore(0, 0, 0, 0, 0, 0)


def test_pooled_rates_and_a_repeatable_interval_that_holds_the_wer() -> None:
    lines = [LineScore(10, e, 0, 0, 2, e % 2) for e in (0, 1, 2, 0, 3, 1, 0, 0, 2, 1)]
    summary = summarise(lines)
    assert summary.samples == 10 and summary.ref_words == 100 and summary.errors == 10
    assert summary.wer == pytest.approx(0.10)
    assert summary.entity_error_rate == pytest.approx(4 / 20)
    assert summary.ci_low is not None and summary.ci_high is not None
    assert summary.ci_low < 0.10 < summary.ci_high
    assert summary.ci_low > 0.02 and summary.ci_high < 0.2
    assert summarise(lines) == summary  # seeded
    # more lines at the same rate: a narrower interval
    wide = summary.ci_high - summary.ci_low
    narrow = summarise(lines * 10)
    assert narrow.ci_high is not None and narrow.ci_low is not None
    assert narrow.ci_high - narrow.ci_low < wide / 2


def test_no_interval_without_two_lines_and_no_rate_without_words() -> None:
    assert bootstrap_interval([LineScore(5, 1, 0, 0, 0, 0)]) == (None, None)
    empty = summarise([])
    assert empty.wer is None and empty.ci_low is None and empty.entity_error_rate is None

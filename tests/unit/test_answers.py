"""Yes / no / unclear: one negation-aware classifier for every confirmation."""

from __future__ import annotations

import pytest

from appliance.workflows.answers import Answer, classify

pytestmark = pytest.mark.unit

Y, N, U = Answer.YES, Answer.NO, Answer.UNCLEAR

ANSWERS: list[tuple[str, Answer]] = [
    # yes
    ("yes", Y),
    ("Yes please.", Y),
    ("yeah", Y),
    ("yep", Y),
    ("yup, that's it", Y),
    ("sure", Y),
    ("sure, go ahead", Y),
    ("correct", Y),
    ("that's right", Y),
    ("That is correct.", Y),
    ("absolutely", Y),
    ("definitely", Y),
    ("of course", Y),
    ("okay", Y),
    ("ok", Y),
    ("all right", Y),
    ("yeah that works", Y),
    ("sounds good", Y),
    ("please do", Y),
    ("yes, book it", Y),
    ("Yes, thank you.", Y),
    ("um, yes", Y),
    ("perfect", Y),
    ("I would, yes", Y),
    # no
    ("no", N),
    ("No.", N),
    ("nope", N),
    ("nah", N),
    ("no thanks", N),
    ("no, that is not correct", N),
    ("that's not right", N),
    ("not really", N),
    ("I don't think so", N),
    ("don't", N),
    ("please don't", N),
    ("no, leave it", N),
    ("that is incorrect", N),
    ("that's wrong", N),
    ("not now", N),
    ("that isn't right", N),
    ("no, that won't work", N),
    ("never mind", N),
    ("no, not okay", N),
    # unclear: mixed, hesitant, questions, nothing
    ("yeah, no, don't move it", U),
    ("yes, no, I mean no", U),
    ("uh, wait", U),
    ("hmm", U),
    ("hmm, okay", U),
    ("maybe", U),
    ("I'm not sure", U),
    ("not sure", U),
    ("I don't know", U),
    ("yes but on Tuesday", U),
    ("hold on", U),
    ("actually, no wait, yes", U),
    ("is that in the morning?", U),
    ("yes?", U),
    ("I don't mind", U),
    ("no problem", U),
    ("why not", U),
    ("", U),
    ("the weather is nice", U),
    ("ok no", U),
    ("sure, I guess", U),
    ("let me think", U),
]


@pytest.mark.parametrize(("text", "expected"), ANSWERS, ids=[a for a, _ in ANSWERS])
def test_answer(text: str, expected: Answer) -> None:
    assert classify(text) is expected


def test_the_table_is_large_and_covers_all_three() -> None:
    assert len(ANSWERS) >= 40
    assert {a for _, a in ANSWERS} == {Y, N, U}


def test_nothing_mixed_is_ever_yes() -> None:
    for yes, _ in [a for a in ANSWERS if a[1] is Y]:
        for no, _ in [a for a in ANSWERS if a[1] is N]:
            assert classify(f"{yes}, {no}") is not Y
            assert classify(f"{no}, {yes}") is not Y


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("no, actually leave it as it is", Answer.NO),
        ("nope, actually keep it", Answer.NO),
        ("no, actually yes", Answer.UNCLEAR),
        ("no wait, go ahead", Answer.UNCLEAR),
    ],
)
def test_a_no_said_first_stays_a_no_despite_doubt(text: str, want: Answer) -> None:
    assert classify(text) == want

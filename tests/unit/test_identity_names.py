"""A name is read from a caller's answer as Whisper writes it, without any model, carried
across turns and corrected; requests are never read as names."""

from __future__ import annotations

import pytest

from appliance.workflows.identity import HeardName, corrected, full_name, heard_name
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.names_spelling import apply_letter, join_spelled
from appliance.workflows.verify import heard_in_answer

pytestmark = pytest.mark.unit

MARIA = HeardName("Maria", "Gonzalez")


@pytest.mark.parametrize(
    "said",
    [
        "maria gonzalez",
        "Maria Gonzalez.",
        "uh it's maria gonzalez",
        "yes this is maria gonzalez april fourth nineteen eighty two",
        "Yes, it's Maria Gonzalez, 04/04/82.",
        "Maria Gonzalez, April 4th, 1982.",
        "maria gonzalez born april fourth nineteen eighty two",
        "sure um my name is maria gonzalez and my date of birth is 4 4 82",
        "Gonzalez, Maria",
        "gonzalez, maria, april fourth nineteen eighty two",
        "my first name is maria and last name gonzalez",
        "my last name is gonzalez and my first name is maria",
        "first name maria last name gonzalez",
        "hi i'd like to book an appointment my name is maria gonzalez",
        "maria gonzalez and i need to reschedule",
        "maria gonzalez please",
        "m a r i a gonzalez",
    ],
)
def test_maria_gonzalez(said: str) -> None:
    assert heard_name(said) == MARIA


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("maria de la cruz", HeardName("Maria", "De La Cruz")),
        # a middle name stays with the first; the matcher finds "Maria" in "Maria Elena"
        ("hello this is maria elena gonzalez", HeardName("Maria Elena", "Gonzalez")),
        ("mary smith-jones", HeardName("Mary", "Smith-Jones")),
        ("it's sean o'brien", HeardName("Sean", "O'Brien")),
        ("Nguyen, Thi", HeardName("Thi", "Nguyen")),
        ("this is john", HeardName("John", None)),
        ("maria", HeardName("Maria", None)),
        ("uh yeah maria april fourth eighty two", HeardName("Maria", None)),
        ("my first name is maria", HeardName("Maria", None)),
        ("the last name is gonzalez", HeardName(None, "Gonzalez")),
        ("surname's gonzalez", HeardName(None, "Gonzalez")),
        ("will hope", HeardName("Will", "Hope")),  # words that are names too
        ("bill young", HeardName("Bill", "Young")),
        ("april smith april fourth eighty two", HeardName("April", "Smith")),
    ],
)
def test_names_and_parts(said: str, expected: HeardName) -> None:
    assert heard_name(said) == expected


def test_a_single_word_is_the_part_asked_for() -> None:
    assert heard_name("gonzalez", expect="last") == HeardName(None, "Gonzalez")
    assert heard_name("it's gonzalez", expect="last") == HeardName(None, "Gonzalez")
    assert heard_name("gonzalez") == HeardName("Gonzalez", None)


@pytest.mark.parametrize(
    "said",
    [
        "i want to book an appointment",
        "I'd like to schedule a physical with Doctor Alvarez next week.",
        "i'd rather talk to somebody at the front desk",
        "I have crushing chest pain and my left arm is numb",
        "Can you refill my lisinopril prescription?",
        "lisinopril refill",
        "i want to pay my bill with my card",
        "what time do you open on saturday",
        "do you have parking",
        "this is for my son",
        "it's about my bill",
        "i'm calling to cancel",
        "i'm good thanks",
        "now cancel for my son",
        "yes",
        "no",
        "uh",
        "okay",
        "april fourth nineteen eighty two",
        "04/04/82",
        "",
    ],
)
def test_not_a_name(said: str) -> None:
    assert heard_name(said) is None


def test_parts_carried_across_turns() -> None:
    heard = HeardName().merge(heard_name("maria"))
    assert not heard.complete and heard.missing == "last" and heard.pair() is None
    heard = heard.merge(heard_name("gonzalez", expect=heard.missing or "first"))
    assert heard.complete and heard.pair() == ("Maria", "Gonzalez")
    assert heard.merge(None) == heard
    assert heard.merge(HeardName("Marie", None)) == HeardName("Marie", "Gonzalez")
    assert HeardName(None, "Gonzalez").missing == "first"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("no it's gonzales with an s", HeardName("Maria", "Gonzales")),
        ("no it's gonzalez with an s", HeardName("Maria", "Gonzales")),  # Whisper kept the z
        ("no, with an s", HeardName("Maria", "Gonzales")),
        ("gonzales with an ess", HeardName("Maria", "Gonzales")),
        ("the last name is gonzales", HeardName("Maria", "Gonzales")),
        ("my last name is spelled g o n z a l e s", HeardName("Maria", "Gonzales")),
        ("first name is marie", HeardName("Marie", "Gonzalez")),
        ("no it's marie", HeardName("Marie", "Gonzalez")),
        ("g o n z a l e s", HeardName("Maria", "Gonzales")),
        ("g-o-n-z-a-l-e-s", HeardName("Maria", "Gonzales")),
        ("G-O-N-Z-A-L-E-S.", HeardName("Maria", "Gonzales")),
        ("G. O. N. Z. A. L. E. S.", HeardName("Maria", "Gonzales")),
        ("that's gonzalez with a z at the end", HeardName("Maria", "Gonzalez")),
        ("gonzales with a z at the end", HeardName("Maria", "Gonzalez")),
        ("no not gonzalez gonzales", HeardName("Maria", "Gonzales")),
        ("it's maria gonzales", HeardName("Maria", "Gonzales")),
        ("actually it's marie gonzales", HeardName("Marie", "Gonzales")),
    ],
)
def test_corrections(said: str, expected: HeardName) -> None:
    assert corrected(said, MARIA) == expected


def test_a_correction_completes_a_missing_part() -> None:
    assert corrected("no it's gonzalez", HeardName("Maria", None)) == MARIA
    assert corrected("katherine with a c", HeardName("Katherine", "Lee")) == HeardName(
        "Catherine", "Lee"
    )


@pytest.mark.parametrize(
    "said", ["no", "yes", "no i want to cancel", "that's right", "uh", "no it's smith"]
)
def test_not_a_correction(said: str) -> None:
    assert corrected(said, MARIA) is None


@pytest.mark.parametrize(
    ("word", "letter", "where", "expected"),
    [
        ("gonzalez", "s", None, "gonzales"),
        ("gonzales", "s", None, "gonzales"),
        ("gonzales", "z", "end", "gonzalez"),
        ("katherine", "c", None, "catherine"),
        ("catherine", "k", "start", "katherine"),
        ("smith", "y", None, "smyth"),
        ("lee", "q", None, "lee"),
        ("", "s", None, ""),
    ],
)
def test_apply_letter(word: str, letter: str, where: str | None, expected: str) -> None:
    assert apply_letter(word, letter, where) == expected


def test_join_spelled_leaves_words_alone() -> None:
    assert join_spelled("it's g o n z a l e s") == "it's gonzales"
    assert join_spelled("with a z at the end") == "with a z at the end"
    assert join_spelled("i want a b") == "i want a b"


def test_full_name_reads_the_name_said_alone_before_the_models_slot() -> None:
    assert full_name("maria gonzalez april fourth nineteen eighty two") == ("Maria", "Gonzalez")
    assert full_name("yes", "John Doe") == ("John", "Doe")  # the caller named nobody
    assert full_name("this is for my son") is None
    assert full_name("maria") is None


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "Katherine Reilly here, I need to change my appointment time",
            HeardName("Katherine", "Reilly"),
        ),
        ("please cancel emily zhang's checkup she's feeling fine now", HeardName("Emily", "Zhang")),
        (
            "can robert kowalczyk get a sick visit hes got a bad flu",
            HeardName("Robert", "Kowalczyk"),
        ),
        ("this is dolores whitfield im eighty one years old", HeardName("Dolores", "Whitfield")),
    ],
)
def test_a_name_said_as_the_subject_of_a_request(said: str, expected: HeardName) -> None:
    assert introduced_name(said) == expected


@pytest.mark.parametrize(
    "said", ["put me through to doctor lee's nurse", "can you see me", "yes maam", "half past nine"]
)
def test_no_subject_name(said: str) -> None:
    assert introduced_name(said) is None and heard_name(said) is None


def test_a_word_the_last_name_corrects_is_no_middle_name() -> None:
    assert heard_in_answer("katherine riley no sorry its reilly not riley") == (
        "Katherine",
        "Reilly",
    )

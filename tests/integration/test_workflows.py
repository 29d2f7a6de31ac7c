"""Scripted dialogues through the workflow engine: scripted intents, the details read by
the product's parsers from each line, and the real built-in schedule on SQLCipher.
Table-driven: caller lines -> outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.scheduling.model import SlotQuery
from appliance.workflows import templates as t
from appliance.workflows.booking import CALLER_DECLINED
from appliance.workflows.engine import SCHEDULING, Policy, WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.said import Vocabulary, read_details
from appliance.workflows.state import Decision, Stage
from appliance.workflows.understander import Understanding
from tests.integration.test_schedule import ASSETS, open_db

pytestmark = pytest.mark.integration

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)  # Tuesday
KB = load_kb(ASSETS.parent / "kb.toml")
MARIA = "My name is Maria Gonzalez, born April 12th, 1980."


@dataclass(frozen=True)
class U:
    """A turn's scripted intent (the details come from the words, as in the product)."""

    intent: Intent = Intent.INFORM
    conf: float = 0.9
    human: bool = False

    def of(self, text: str, vocabulary: Vocabulary) -> Understanding:
        said = read_details(text, vocabulary, NOW)
        return Understanding(self.intent, said, self.human, self.conf, "rules")


@dataclass
class Dialogue:
    name: str
    turns: list[tuple[str, U]]
    transfer: str | None = None
    end_call: bool = False
    booked: int = 0  # booked appointments of Maria afterwards
    says: list[str] = field(default_factory=list)  # phrases the last reply must contain
    policy: Policy = field(default_factory=Policy)
    existing: bool = False  # Maria already has an appointment (Friday 9:00 with Dr Lee)
    declined: str = ""  # the action whose read-back the caller said no to (recorded)


DIALOGUES = [
    Dialogue(
        "book in steps",
        [
            ("I'd like to book an appointment", U(Intent.BOOK)),
            (MARIA, U()),
            ("Friday please", U()),
            ("the first one", U()),
            ("yes please", U()),
        ],
        booked=1,
        says=["You're booked for Friday, November 27 at 8:00 AM"],
    ),
    Dialogue(
        "book with everything at once",
        [
            (f"Can I book for Friday? {MARIA}", U(Intent.BOOK)),
            ("the second", U()),
            ("yes", U()),
        ],
        booked=1,
        says=["8:30 AM"],
    ),
    Dialogue(
        "slot negotiation over a holiday",
        [
            ("book an appointment", U(Intent.BOOK)),
            (MARIA, U()),
            ("Thursday", U()),
            ("how about Monday afternoon", U()),
            ("the 12:30 one", U()),
            ("correct", U()),
        ],
        booked=1,
        says=["Monday, November 30 at 12:30 PM with Dr Ravi Patel"],
    ),
    Dialogue(
        "declines at the read-back",
        [
            ("book", U(Intent.BOOK)),
            (MARIA, U()),
            ("Friday", U()),
            ("first", U()),
            ("no, don't", U()),
        ],
        booked=0,
        says=["I haven't booked anything"],
        declined="book",
    ),
    Dialogue(
        "morning preference",
        [
            ("book", U(Intent.BOOK)),
            (MARIA, U()),
            ("Monday morning", U()),
        ],
        says=["Monday, November 30 at 8:00 AM with Dr Amanda Lee"],
    ),
    Dialogue(
        "reschedule",
        [
            ("I need to move my appointment", U(Intent.RESCHEDULE)),
            (MARIA, U()),
            ("next Monday", U()),
            ("the second one", U()),
            ("yes", U()),
        ],
        booked=1,
        existing=True,
        says=["now Monday, November 30 at 8:30 AM"],
    ),
    Dialogue(
        "cancel",
        [
            ("cancel my appointment", U(Intent.CANCEL)),
            (MARIA, U()),
            ("yes", U()),
        ],
        booked=0,
        existing=True,
        says=["is cancelled"],
    ),
    Dialogue(
        "cancel, then keep it",
        [
            ("cancel my appointment", U(Intent.CANCEL)),
            (MARIA, U()),
            ("no", U()),
        ],
        booked=1,
        existing=True,
        says=["left it as it is"],
        declined="cancel",
    ),
    Dialogue(
        "when is my appointment",
        [
            ("when is my appointment", U(Intent.APPOINTMENT_STATUS)),
            (MARIA, U()),
        ],
        booked=1,
        existing=True,
        says=["Friday, November 27 at 9:00 AM with Dr Amanda Lee"],
    ),
    Dialogue(
        "when is my appointment, none",
        [
            ("when is my appointment", U(Intent.APPOINTMENT_STATUS)),
            (MARIA, U()),
        ],
        says=["don't see any upcoming appointments"],
    ),
    Dialogue(
        "identity fails twice",
        [
            ("cancel my appointment", U(Intent.CANCEL)),
            ("I'm Maria Gonzales, born April 13th, 1980", U()),
            ("Maria Gonzalez, born May 12th, 1980", U()),
        ],
        transfer="identity-failed",
        existing=True,
        booked=1,
    ),
    Dialogue(
        "identity wrong then right",
        [
            ("cancel my appointment", U(Intent.CANCEL)),
            ("I'm Maria Gonzales, born April 13th, 1980", U()),
            (MARIA, U()),
            ("yes", U()),
        ],
        existing=True,
        booked=0,
        says=["is cancelled"],
    ),
    Dialogue(
        "duplicate name needs the birth date",
        [
            ("when is my appointment", U(Intent.APPOINTMENT_STATUS)),
            ("My name is John Smith", U()),
        ],
        says=[t.ASK_BIRTH_DATE],
    ),
    Dialogue(
        "duplicate name, then the birth date",
        [
            ("when is my appointment", U(Intent.APPOINTMENT_STATUS)),
            ("My name is John Smith", U()),
            ("September 30th, 1975", U()),
        ],
        says=["don't see any upcoming appointments"],
    ),
    Dialogue(
        "identity across two turns",
        [
            ("when is my appointment", U(Intent.APPOINTMENT_STATUS)),
            ("My name is Maria Gonzalez.", U()),
            ("April 12th, 1980", U()),
        ],
        booked=1,
        existing=True,
        says=["Friday, November 27 at 9:00 AM with Dr Amanda Lee"],
    ),
    Dialogue(
        "agent during booking",
        [
            ("book", U(Intent.BOOK)),
            (MARIA, U()),
            ("just put me through to a person", U(Intent.SPEAK_TO_PERSON, human=True)),
        ],
        transfer="caller-request",
    ),
    Dialogue(
        "agent at once",
        [("operator", U(Intent.SPEAK_TO_PERSON, human=True))],
        transfer="caller-request",
    ),
    Dialogue(
        "two misunderstandings",
        [("blah", U(Intent.OTHER)), ("wibble", U(Intent.OTHER))],
        transfer="not-understood",
    ),
    Dialogue(
        "low confidence counts as not understood",
        [
            ("mumble", U(Intent.BOOK, conf=0.1)),
            ("mumble", U(Intent.CANCEL, conf=0.2)),
        ],
        transfer="not-understood",
    ),
    Dialogue(
        "one misunderstanding then fine",
        [
            ("blah", U(Intent.OTHER)),
            ("where do I park", U(Intent.CLINIC_INFO)),
        ],
        says=["lot behind the building"],
    ),
    Dialogue(
        "emergency mid-booking",
        [
            ("book", U(Intent.BOOK)),
            ("my father has chest pain", U(Intent.EMERGENCY)),
        ],
        end_call=True,
        says=["dial 911"],
    ),
    Dialogue(
        "refill is high risk",
        [("I need a refill", U(Intent.REFILL))],
        transfer="high-risk-use-case",
    ),
    Dialogue(
        "billing is high risk",
        [("question on my bill", U(Intent.BILLING))],
        transfer="high-risk-use-case",
    ),
    Dialogue(
        "two high-risk requests at once",
        [("I'm calling about my bill and my test results", U(Intent.BILLING))],
        transfer="high-risk-use-case",
    ),
    Dialogue(
        "test results are high risk",
        [("my results?", U(Intent.TEST_RESULTS))],
        transfer="high-risk-use-case",
    ),
    Dialogue(
        "disabled use case",
        [("cancel please", U(Intent.CANCEL))],
        transfer="use-case-disabled",
        policy=Policy(enabled=frozenset({Intent.BOOK, Intent.CLINIC_INFO})),
    ),
    Dialogue(
        "opening hours",
        [("when do you open", U(Intent.CLINIC_INFO))],
        says=["Monday to Friday, 8 AM to 5 PM"],
    ),
    Dialogue(
        "insurance",
        [("do you take Aetna", U(Intent.CLINIC_INFO))],
        says=["Aetna, Blue Cross and Medicare"],
    ),
    Dialogue(
        "unknown info",
        [("do you sell bicycles", U(Intent.CLINIC_INFO))],
        says=["don't have that information"],
    ),
    Dialogue("goodbye", [("that's all, bye", U(Intent.GOODBYE))], end_call=True, says=["Goodbye"]),
    Dialogue(
        "unclear slot choice, then clear",
        [
            ("book", U(Intent.BOOK)),
            (MARIA, U()),
            ("Friday", U()),
            ("hmm whichever", U(Intent.OTHER)),
            ("the second one", U()),
            ("yes", U()),
        ],
        booked=1,
        says=["8:30 AM"],
    ),
    Dialogue(
        "book at a spoken time",
        [
            ("book", U(Intent.BOOK)),
            (MARIA, U()),
            ("Friday at half past ten", U()),
            ("the first", U()),
            ("yes", U()),
        ],
        booked=1,
        says=["Friday, November 27 at 10:30 AM"],
    ),
    Dialogue(
        "a birth date is not a day to book",
        [("book", U(Intent.BOOK)), (MARIA, U())],
        says=["What day would suit you?"],
    ),
    Dialogue(
        "status then goodbye",
        [
            ("when is my appointment", U(Intent.APPOINTMENT_STATUS)),
            (MARIA, U()),
            ("great, goodbye", U(Intent.GOODBYE)),
        ],
        existing=True,
        booked=1,
        end_call=True,
    ),
]


@pytest.fixture
def schedule(tmp_path: Path):
    db = open_db(tmp_path / "w.db")
    import_directory(db, ASSETS)
    yield BuiltinSchedule(db, TZ, now=lambda: NOW)
    db.close()


async def turn(engine: WorkflowEngine, text: str, scripted: U) -> Decision:
    """One caller turn outside the table (no provider named: the KB is the vocabulary)."""
    return await engine.turn(scripted.of(text, Vocabulary(kb=KB)), text)


async def vocabulary_of(schedule: BuiltinSchedule) -> Vocabulary:
    """The clinic's words, as the agent loads them from the schedule."""
    providers, types = await schedule.providers(), await schedule.appointment_types()
    return Vocabulary(tuple(providers), tuple(types), KB)


async def book_friday_nine(schedule: BuiltinSchedule) -> None:
    slots = await schedule.find_slots(
        SlotQuery("checkup", provider_id="lee", day=NOW.date().replace(day=27), limit=3)
    )
    await schedule.book("p1", slots[2], None)  # 9:00


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=lambda d: d.name)
async def test_dialogue(schedule: BuiltinSchedule, dialogue: Dialogue) -> None:
    if dialogue.existing:
        await book_friday_nine(schedule)
    engine = WorkflowEngine(schedule, KB, TZ, dialogue.policy, clock=lambda: NOW)
    vocabulary = await vocabulary_of(schedule)
    decision = None
    for text, scripted in dialogue.turns:
        assert decision is None or (decision.transfer is None and not decision.end_call)
        decision = await engine.turn(scripted.of(text, vocabulary), text)
    assert decision is not None
    assert decision.transfer == dialogue.transfer, decision
    assert decision.end_call == dialogue.end_call, decision
    for phrase in dialogue.says:
        assert phrase in decision.say, decision.say
    assert len(await schedule.upcoming("p1")) == dialogue.booked
    declined = [a.action.value for a in engine.state.actions if a.outcome == CALLER_DECLINED]
    assert declined == ([dialogue.declined] if dialogue.declined else [])


async def test_double_booking_race_recovers(schedule: BuiltinSchedule) -> None:
    first = WorkflowEngine(schedule, KB, TZ, clock=lambda: NOW)
    second = WorkflowEngine(schedule, KB, TZ, clock=lambda: NOW)
    john = "I'm John Smith, born 09/30/1975"
    for engine, who in ((first, MARIA), (second, john)):
        await turn(engine, "book", U(Intent.BOOK))
        await turn(engine, who, U())
        await turn(engine, "Friday", U())
        await turn(engine, "the first one", U())
    assert (await turn(first, "yes", U())).say.startswith("You're booked")
    lost = await turn(second, "yes", U())
    assert "just taken" in lost.say and second.state.stage == Stage.CHOOSE_DAY
    await turn(second, "Monday", U())
    await turn(second, "first", U())
    assert (await turn(second, "yes", U())).say.startswith("You're booked")
    assert len(await schedule.upcoming("p1")) == 1 and len(await schedule.upcoming("p2")) == 1


def test_there_are_at_least_thirty_dialogues() -> None:
    assert len(DIALOGUES) + 1 >= 30
    assert set(SCHEDULING) <= {u.intent for d in DIALOGUES for _, u in d.turns}


@pytest.mark.parametrize(
    ("outcome", "lines", "taken"),
    [
        ("busy", ["yes please", "call me about my bill", "555 0142"], ("callback", "5550142")),
        (
            "no_answer",
            ["yes, call me back at five five five oh one four two"],
            ("callback", "5550142"),
        ),
        ("timeout", ["sure", "please ask Dr Lee to call me, at 555-0199"], ("callback", "5550199")),
        (
            "failed",
            ["yes", "tell the front desk I'll be late", "no, just the message"],
            ("message", None),
        ),
        ("busy", ["no thanks"], None),
    ],
)
async def test_failed_transfer_takes_a_message(
    schedule: BuiltinSchedule, outcome: str, lines: list[str], taken: tuple[str, str | None] | None
) -> None:
    engine = WorkflowEngine(schedule, KB, TZ, clock=lambda: NOW)
    await turn(engine, "operator", U(Intent.SPEAK_TO_PERSON, human=True))
    offer = engine.transfer_failed(outcome)
    assert "leave a message" in offer.say and engine.state.stage == Stage.OFFER_MESSAGE
    decision = None
    for line in lines:  # "front desk" in a message does not trigger another transfer
        decision = await turn(engine, line, U(Intent.SPEAK_TO_PERSON, human="desk" in line))
        assert decision.transfer is None
    assert decision is not None and engine.state.stage == Stage.IDLE
    if taken is None:
        assert decision.message is None and "anything else" in decision.say
        return
    assert decision.message is not None and "passed your message" in decision.say
    assert (decision.message.kind, decision.message.callback_number) == taken
    assert decision.message.reason == outcome and decision.message.body

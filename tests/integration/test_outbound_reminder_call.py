"""The reminder conversation on a virtual clock: a scripted callee (FakeCall), fake
speech at the TTS / STT / end-of-turn seams, the real store for consent, DNC, the
appointment and the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest

from appliance.audio import AudioChunk
from appliance.outbound import templates as say
from appliance.outbound.dialler import CallReport
from appliance.outbound.ledger import Ledger
from appliance.outbound.planner import Contact, Decision
from appliance.outbound.reminder_call import (
    ReminderCall,
    ReminderSettings,
    Voice,
    appointment_facts,
)
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.store.db import Connection, Database
from appliance.workflows import templates as wt
from tests.fakes import FakeCall, FakeClock, FakeDetector, FakeStt, FakeTts, Speech
from tests.integration.outbound_support import NY, audit_rows, book, consent, ledger, open_store

pytestmark = pytest.mark.integration

WEDNESDAY = date(2026, 11, 25)
START = datetime.combine(WEDNESDAY, time(14, 0), NY)
NUMBER = "+12125550144"
CLINIC, CALLBACK = "Maple Clinic", "555 010 0999"
DECISION = Decision("a4", "pt-x", "pn-x", "call-now", None, None, None, Contact("p4", NUMBER))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "r.db")
    book(store, "a4", "p4", START)
    consent(ledger(store), "p4", NUMBER, datetime(2026, 10, 1, tzinfo=NY))
    yield store
    store.close()


class WatchedTts(FakeTts):
    """FakeTts that notes, for each sentence, whether the number was on the DNC list then."""

    def __init__(self, clock: FakeClock, book: Ledger) -> None:
        super().__init__(clock)
        self.book = book
        self.dnc_when_said: list[bool] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.dnc_when_said.append(self.book.on_dnc(NUMBER))
        async for chunk in super().synthesize(text):
            yield chunk


def converse(
    db: Database, clock: FakeClock, call: FakeCall, lines: list[str]
) -> tuple[ReminderCall, WatchedTts]:
    tts = WatchedTts(clock, ledger(db))
    voice = Voice(tts, FakeStt(clock, lines), lambda: FakeDetector(clock), clock)
    schedule = BuiltinSchedule(db, NY)
    talk = ReminderCall(
        voice, ReminderSettings(CLINIC, CALLBACK), appointment_facts(db, NY), schedule.cancel
    )
    return talk, tts


async def run(
    db: Database, clock: FakeClock, call: FakeCall, lines: list[str]
) -> tuple[CallReport, ReminderCall, WatchedTts]:
    talk, tts = converse(db, clock, call, lines)
    report = await clock.run(talk(call, DECISION, ledger(db).for_call("call-1")))
    return report, talk, tts


def status(db: Database) -> str:
    def read(conn: Connection) -> str:
        return str(conn.execute("SELECT status FROM appointments WHERE id = 'a4'").fetchone()[0])

    return db.query(read)


def confirmation(db: Database) -> tuple[float | None, str | None]:
    def read(conn: Connection) -> tuple[float | None, str | None]:
        row = conn.execute("SELECT confirmed_at, confirmed_via FROM appointments WHERE id = 'a4'")
        return tuple(row.fetchone())  # type: ignore[return-value]

    return db.query(read)


def hello(clock: FakeClock, answers: int) -> FakeCall:
    """A person: "Hello?" at 0.3 s for 0.5 s, then answers each question."""
    return FakeCall(clock, [Speech(0.3, 0.5)], answers=answers)


async def test_a_person_confirms_after_saying_who_they_are(db: Database) -> None:
    clock = FakeClock()
    call = hello(clock, 2)
    report, talk, tts = await run(
        db, clock, call, ["hello?", "yes speaking", "yes I will be there"]
    )
    assert report == CallReport("answered", "confirmed")
    assert tts.texts == [
        say.disclosure(CLINIC),
        say.ask_for("Ana"),
        say.details(CLINIC, START),
        say.confirmed(),
    ]
    assert "Wednesday, November 25 at 2:00 PM" in tts.texts[2]
    assert talk.disclosure_started_s[0] <= 2.0  # the disclosure starts within 2 s of answer
    assert call.spans[0][1] - 1000.0 <= 10.0  # and has finished within 10 s
    assert status(db) == "booked"
    at, via = confirmation(db)
    assert at is not None and via == "reminder-call"  # the appointment itself says so
    assert ("reminder.confirmed", "appointment", "a4", "confirmed", "tester") in audit_rows(db)


async def test_identity_comes_before_any_detail(db: Database) -> None:
    clock = FakeClock()
    report, _, tts = await run(db, clock, hello(clock, 1), ["hello", "no, wrong number"])
    assert report == CallReport("answered", "wrong-person")
    assert tts.texts == [
        say.disclosure(CLINIC),
        say.ask_for("Ana"),
        say.wrong_person(CLINIC, CALLBACK),
    ]
    assert not any("November" in t or "Ruiz" in t for t in tts.texts)


async def test_a_cancel_is_asked_again_and_goes_through_the_schedule(db: Database) -> None:
    clock = FakeClock()
    lines = ["hello", "yes", "no I can't make it", "yes please"]
    report, _, tts = await run(db, clock, hello(clock, 3), lines)
    assert report == CallReport("answered", "cancelled")
    assert tts.texts[3:] == [say.ask_cancel(), say.cancelled(CALLBACK)]
    assert status(db) == "cancelled"
    assert ("reminder.cancelled", "appointment", "a4", "cancelled", "tester") in audit_rows(db)


async def test_a_no_to_cancelling_leaves_it_booked(db: Database) -> None:
    clock = FakeClock()
    report, _, _ = await run(db, clock, hello(clock, 3), ["hello", "yes", "no", "no leave it"])
    assert report == CallReport("answered", "left-as-is")
    assert status(db) == "booked"


async def test_stop_calling_me_revokes_and_lists_at_once_then_says_so(db: Database) -> None:
    clock = FakeClock()
    report, _, tts = await run(db, clock, hello(clock, 1), ["hello", "just stop calling me"])
    assert report == CallReport("answered", "opted-out")
    assert tts.texts[-1] == say.opted_out()
    assert tts.dnc_when_said == [False, False, True]  # listed before it was confirmed
    book = ledger(db)
    assert book.on_dnc(NUMBER) and book.consent("p4", NUMBER) == "revoked"

    def call_ids(conn: Connection) -> set[tuple[str, str, str | None]]:
        rows = conn.execute("SELECT action, reason_code, call_id FROM audit")
        return {(str(r[0]), str(r[1]), r[2]) for r in rows}

    audited = db.query(call_ids)
    assert ("consent.revoked", "call", "call-1") in audited
    assert ("dnc.added", "internal", "call-1") in audited


async def test_a_machine_gets_the_no_phi_message_after_its_greeting(db: Database) -> None:
    clock = FakeClock()
    call = FakeCall(clock, [Speech(0.4, 9.0)])  # "You've reached ... leave a message"
    report, _, tts = await run(db, clock, call, [])
    assert report == CallReport("voicemail", "message-left")
    assert tts.texts == [say.disclosure(CLINIC), say.voicemail(CLINIC, CALLBACK)]
    assert "Ana" not in tts.texts[1] and "November" not in tts.texts[1]
    assert CALLBACK in tts.texts[1]
    assert call.spans[-1][0] - 1000.0 >= 9.4 + 1.0  # after the greeting and 1 s of quiet


async def test_silence_is_asked_twice_then_the_call_ends_politely(db: Database) -> None:
    clock = FakeClock()
    report, _, tts = await run(db, clock, FakeCall(clock), [])
    assert report == CallReport("answered", "no-reply")
    assert tts.texts[1:] == [say.ask_for("Ana"), say.YES_OR_NO, say.no_reply(CLINIC, CALLBACK)]


async def test_an_unclear_answer_gets_a_yes_or_no_question(db: Database) -> None:
    clock = FakeClock()
    lines = ["hello", "hmm maybe", "yes", "yes"]
    report, _, tts = await run(db, clock, hello(clock, 3), lines)
    assert report == CallReport("answered", "confirmed")
    assert tts.texts[1:3] == [say.ask_for("Ana"), say.YES_OR_NO]


async def test_a_prepared_disclosure_starts_the_moment_the_call_is_answered(
    db: Database,
) -> None:
    clock = FakeClock()
    call = hello(clock, 2)
    talk, tts = converse(db, clock, call, ["hello", "yes", "yes"])
    await clock.run(talk.prepare())
    assert tts.texts == [say.disclosure(CLINIC)]
    prepared_at = clock.monotonic()
    report = await clock.run(talk(call, DECISION, ledger(db).for_call("call-2")))
    assert report.result == "confirmed"
    assert tts.texts.count(say.disclosure(CLINIC)) == 1  # not synthesized again
    assert talk.disclosure_started_s == [0.0] and call.spans[0][0] == prepared_at


async def test_an_opt_out_said_over_the_disclosure_is_honoured_before_any_question(
    db: Database,
) -> None:
    clock = FakeClock()
    call = FakeCall(clock, [Speech(1.0, 1.2)])  # talks over the disclosure
    report, _, tts = await run(db, clock, call, ["take me off your list"])
    assert report == CallReport("answered", "opted-out")
    assert tts.texts == [say.disclosure(CLINIC), say.opted_out()]
    assert ledger(db).on_dnc(NUMBER)


@pytest.mark.parametrize(
    ("lines", "asked"),
    [
        (["hello?", "i have crushing chest pain and my left arm is numb"], 2),  # at "is that you?"
        (["hello?", "yes speaking", "i can't breathe, my throat is swelling"], 3),  # at the details
    ],
)
async def test_an_emergency_said_at_any_answer_gets_the_instruction(
    db: Database, lines: list[str], asked: int
) -> None:
    """As on an inbound call: the workflows' emergency instruction, audited, and the call
    ends; nothing about the appointment changes."""
    clock = FakeClock()
    report, _, tts = await run(db, clock, hello(clock, len(lines) - 1), lines)
    assert report == CallReport("answered", "emergency")
    assert len(tts.texts) == asked + 1
    assert tts.texts[-1] == wt.EMERGENCY.format(number="911")
    assert status(db) == "booked" and confirmation(db) == (None, None)
    assert ("reminder.emergency", "appointment", "a4", "emergency", "tester") in audit_rows(db)

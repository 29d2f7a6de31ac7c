"""The reminder dialler on a virtual clock, the real SQLCipher store and a fake at the
telephony seam: checks right before each dial, attempts recorded and audited, retries
within the limits, pacing by concurrency and inbound capacity."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pytest

from appliance.errors import TelephonyError
from appliance.outbound.dialler import CallReport, Dialler, Pacing, RunReport, classify
from appliance.outbound.ledger import Ledger
from appliance.outbound.planner import Decision, Limits, Planner
from appliance.ports import CallHandle
from appliance.store.db import Connection, Database
from tests.fakes import FakeCall, FakeClock
from tests.integration.outbound_support import KEY as HASH_KEY
from tests.integration.outbound_support import NY, audit_rows, book, consent, ledger, open_store

pytestmark = pytest.mark.integration

TUESDAY = date(2026, 11, 24)
WEDNESDAY = date(2026, 11, 25)
GIVEN = datetime(2026, 10, 1, 9, 0, tzinfo=NY)
P1, P3, P4, P5 = "+15550100001", "+15550100003", "+12125550144", "+13105550155"


def at(hhmm: str, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), NY)


class Placed(FakeCall):
    """A call the fake line placed: it answers, is busy, fails, or rings out."""

    def __init__(self, clock: FakeClock, number: str, behaviour: str) -> None:
        super().__init__(clock)
        self.number = number
        self.behaviour = behaviour
        self.status_code: int | None = None

    @property
    def ended(self) -> bool:
        return self.hung_up or self.status_code is not None

    async def wait_answered(self, within: float) -> bool:
        if self.behaviour == "answer":
            await self._clock.sleep(5.0)  # rings 5 s
            return True
        if self.behaviour == "ring":
            await self._clock.sleep(within)
            return False
        await self._clock.sleep(2.0)
        self.status_code = {"busy": 486, "fail": 503, "unavailable": 480}[self.behaviour]
        return False


class Line:
    """The telephony seam: what each number does on each dial; every INVITE recorded."""

    def __init__(self, clock: FakeClock, script: dict[str, list[str]]) -> None:
        self.clock = clock
        self.script = script
        self.invites: list[tuple[str, datetime]] = []
        self.up = 0
        self.most_up = 0

    async def place(self, uri: str, headers: dict[str, str] | None = None) -> Placed:
        number = uri.removeprefix("sip:").split("@")[0]
        self.invites.append((number, datetime.fromtimestamp(self.clock.time(), NY)))
        behaviour = self.script[number].pop(0) if self.script.get(number) else "answer"
        if behaviour == "refused":
            raise TelephonyError("sip-not-started", "the SIP endpoint is not running")
        return Placed(self.clock, number, behaviour)


class Talk:
    """The conversation seam: each answered call lasts `call_s` and ends as scripted."""

    def __init__(self, line: Line, call_s: float = 60.0, report: str = "confirmed") -> None:
        self.line = line
        self.call_s = call_s
        self.report = report
        self.talked: list[str] = []

    async def __call__(self, call: CallHandle, decision: Decision, book: Ledger) -> CallReport:
        self.line.up += 1
        self.line.most_up = max(self.line.most_up, self.line.up)
        self.talked.append(decision.appointment_id)
        try:
            await self.line.clock.sleep(self.call_s)
        finally:
            self.line.up -= 1
        if self.report == "voicemail":
            return CallReport("voicemail", "message-left")
        return CallReport("answered", self.report)


@dataclass
class Room:
    free: int = 10

    def inbound_free(self) -> int:
        return self.free


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "d.db")
    yield store
    store.close()


def clock_at(moment: datetime) -> FakeClock:
    return FakeClock(start=moment.timestamp() - FakeClock.EPOCH)


def dialler(
    db: Database,
    clock: FakeClock,
    line: Line,
    talk: Talk,
    room: Room | None = None,
    pacing: Pacing | None = None,
    per_day: int = 2,
) -> Dialler:
    planner = Planner(db, HASH_KEY, (NY, time(9), time(20)), Limits(per_day, 3))
    seams = (line, talk, room or Room(), clock)
    return Dialler(planner, ledger(db), seams, NY, lambda n: f"sip:{n}@pbx", pacing)


async def run(clock: FakeClock, d: Dialler, day: date = WEDNESDAY) -> RunReport:
    return await clock.run(d.run(day), limit_s=14 * 3600)


def attempts(db: Database) -> list[tuple[str, str]]:
    def read(conn: Connection) -> list[tuple[str, str]]:
        rows = conn.execute("SELECT appointment_id, outcome FROM outbound_attempts ORDER BY id")
        return [(str(r[0]), str(r[1])) for r in rows]

    return db.query(read)


async def test_dnc_and_no_consent_numbers_are_never_dialled(db: Database) -> None:
    for i, patient in enumerate(("p1", "p2", "p3", "p4"), start=1):
        book(db, f"a{i}", patient, at(f"1{i}:00", WEDNESDAY))
    book_of = ledger(db)
    for patient, number in (("p1", P1), ("p3", P3), ("p4", P4)):
        consent(book_of, patient, number, GIVEN)
    book_of.add_dnc(P3, "import", GIVEN.timestamp(), "imported")  # p2 has no consent
    clock = clock_at(at("10:00"))
    line = Line(clock, {})
    report = await run(clock, dialler(db, clock, line, Talk(line)))
    assert sorted(n for n, _ in line.invites) == sorted([P1, P4])
    assert report.not_dialled == {"a2": "no-consent", "a3": "dnc"}
    assert sorted(attempts(db)) == [("a1", "answered"), ("a4", "answered")]
    calls = [r for r in audit_rows(db) if r[0] == "reminder.call"]
    assert sorted((r[2], r[3]) for r in calls) == [("a1", "answered"), ("a4", "answered")]

    def call_ids(conn: Connection) -> list[str]:
        rows = conn.execute("SELECT call_id FROM audit WHERE action = 'reminder.call'")
        return [str(r[0]) for r in rows]

    assert db.query(call_ids) == ["fake-call", "fake-call"]  # each names its call
    assert not any(P1[2:] in "".join(r) or P4[2:] in "".join(r) for r in audit_rows(db))


async def test_an_opt_out_between_tries_stops_the_retry(db: Database) -> None:
    book(db, "a1", "p1", at("11:00", WEDNESDAY))
    book_of = ledger(db)
    consent(book_of, "p1", P1, GIVEN)
    clock = clock_at(at("10:00"))
    line = Line(clock, {P1: ["busy", "answer"]})
    d = dialler(db, clock, line, Talk(line))

    async def opt_out_later() -> None:
        await clock.sleep(60.0)  # a minute after the busy try: "stop calling me" at the desk
        book_of.opt_out(P1, "front-desk", clock.time())

    opt = asyncio.ensure_future(opt_out_later())
    report = await run(clock, d)
    assert opt.done()  # the opt-out came before the retry
    assert [n for n, _ in line.invites] == [P1]  # the retry found the number on the DNC list
    assert attempts(db) == [("a1", "busy")]
    assert report.not_dialled == {"a1": "dnc"}


async def test_busy_no_answer_and_failed_are_retried_within_the_limits(db: Database) -> None:
    book(db, "a1", "p1", at("15:00", WEDNESDAY))
    book(db, "a4", "p4", at("16:00", WEDNESDAY))
    book_of = ledger(db)
    consent(book_of, "p1", P1, GIVEN)
    consent(book_of, "p4", P4, GIVEN)
    clock = clock_at(at("10:00"))
    line = Line(clock, {P1: ["busy", "busy", "busy"], P4: ["ring", "fail"]})
    pacing = Pacing(busy_retry_s=600, no_answer_retry_s=1200, ring_s=25)
    report = await run(clock, dialler(db, clock, line, Talk(line), pacing=pacing))
    tries = {n: [t for m, t in line.invites if m == n] for n in (P1, P4)}
    assert [t.strftime("%H:%M:%S") for t in tries[P1]] == ["10:00:00", "10:10:02"]
    assert [t.strftime("%H:%M:%S") for t in tries[P4]] == ["10:00:00", "10:20:25"]
    assert [(a.appointment_id, a.outcome) for a in report.attempts] == [
        ("a1", "busy"),
        ("a4", "no-answer"),
        ("a1", "busy"),
        ("a4", "failed"),
    ]
    assert report.not_dialled == {"a1": "next-day", "a4": "next-day"}  # 2 a day: tomorrow
    assert report.attempts[3].sip_status == 503


async def test_the_first_dial_waits_for_the_window_in_the_callees_zone(db: Database) -> None:
    book(db, "a4", "p4", at("17:00", WEDNESDAY))  # New York
    book(db, "a5", "p5", at("18:00", WEDNESDAY))  # Los Angeles: 08:00 there is 11:00 here
    book_of = ledger(db)
    consent(book_of, "p4", P4, GIVEN)
    consent(book_of, "p5", P5, GIVEN)
    clock = clock_at(at("07:30"))
    line = Line(clock, {})
    await run(clock, dialler(db, clock, line, Talk(line)))
    assert [(n, t.strftime("%H:%M")) for n, t in line.invites] == [(P4, "09:00"), (P5, "11:00")]


async def test_no_dial_after_the_window_closes_and_a_refused_place_is_failed(
    db: Database,
) -> None:
    book(db, "a1", "p1", at("12:00", WEDNESDAY))
    consent(ledger(db), "p1", P1, GIVEN)
    clock = clock_at(at("19:50"))
    line = Line(clock, {P1: ["refused", "refused"]})
    report = await run(
        clock, dialler(db, clock, line, Talk(line), pacing=Pacing(failed_retry_s=900))
    )
    assert [t.strftime("%H:%M") for _, t in line.invites] == ["19:50"]  # 20:05 is too late
    assert attempts(db) == [("a1", "failed")]
    assert report.not_dialled == {"a1": "next-day"}


async def test_pacing_caps_concurrent_calls_and_yields_to_inbound(db: Database) -> None:
    patients = {"p1": P1, "p3": P3, "p4": P4, "p5": P5}
    book_of = ledger(db)
    for i, (patient, number) in enumerate(patients.items(), start=1):
        book(db, f"a{i}", patient, at(f"1{i}:00", WEDNESDAY))
        consent(book_of, patient, number, GIVEN)
    clock = clock_at(at("12:00"))
    line = Line(clock, {})
    room = Room(free=1)  # below the reserve of 2: nothing may start
    talk = Talk(line, call_s=100.0)
    d = dialler(db, clock, line, talk, room, Pacing(max_concurrent=2, inbound_reserve=2))

    async def inbound_calls_end() -> None:
        await clock.sleep(300.0)
        room.free = 4

    freed = asyncio.ensure_future(inbound_calls_end())
    await run(clock, d)
    freed.cancel()  # (a run that did not wait for it ends first: the times below fail)
    times = [t.strftime("%H:%M:%S") for _, t in line.invites]
    assert times[:2] == ["12:05:00", "12:05:00"]  # first look after the inbound calls ended
    assert times[2:] == ["12:06:45", "12:06:45"]  # each after a call ended (5 s ring + 100 s)
    assert line.most_up == 2


def test_the_final_sip_status_classifies_an_unanswered_call() -> None:
    assert [classify(s) for s in (486, 600, 408, 480, 487, 503, 404, None)] == [
        "busy",
        "busy",
        "no-answer",
        "no-answer",
        "no-answer",
        "failed",
        "failed",
        "failed",
    ]


async def test_an_attempt_is_on_record_before_the_dial_so_a_crash_cannot_free_a_try(
    db: Database,
) -> None:
    """The attempt row (`dialling`) and `reminder.dial` are written before the INVITE; a
    run killed mid-call leaves them, and the attempt limit counts that dial."""
    book(db, "a1", "p1", at("15:00", WEDNESDAY))
    consent(ledger(db), "p1", P1, GIVEN)
    clock = clock_at(at("10:00", WEDNESDAY))
    line = Line(clock, {})
    runner = dialler(db, clock, line, Talk(line, call_s=3600.0), per_day=1)
    with pytest.raises(TimeoutError):  # the process dies while the callee is on the line
        await clock.run(runner.run(WEDNESDAY), limit_s=600)
    assert [n for n, _ in line.invites] == [P1]
    assert attempts(db) == [("a1", "dialling")]
    assert [(r[0], r[2], r[3]) for r in audit_rows(db) if r[0].startswith("reminder.")] == [
        ("reminder.dial", "a1", "dialling")
    ]
    planner = Planner(db, HASH_KEY, (NY, time(9), time(20)), Limits(1, 3))
    again = planner.plan_one("a1", WEDNESDAY, at("11:00", WEDNESDAY))
    assert again is not None and again.action != "call-now"
    assert again.reason == "attempts-exhausted"


async def test_a_finished_call_turns_its_dialling_row_into_the_outcome(db: Database) -> None:
    book(db, "a1", "p1", at("15:00", WEDNESDAY))
    consent(ledger(db), "p1", P1, GIVEN)
    clock = clock_at(at("10:00", WEDNESDAY))
    line = Line(clock, {P1: ["busy", "answer"]})
    await run(clock, dialler(db, clock, line, Talk(line)))
    assert attempts(db) == [("a1", "busy"), ("a1", "answered")]  # one row per dial
    rows = [(r[0], r[3]) for r in audit_rows(db) if r[0].startswith("reminder.")]
    assert rows == [
        ("reminder.dial", "dialling"), ("reminder.call", "busy"),
        ("reminder.dial", "dialling"), ("reminder.call", "answered"),
    ]  # fmt: skip

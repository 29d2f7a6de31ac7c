"""`appliance reminders report`: a day's results from the store (the dialler's attempts,
the audited answers and opt-outs, the planner's reasons), counts and codes only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.cli.main import main
from appliance.config import Settings, load_settings
from appliance.domain import CallId
from appliance.outbound.dialler import Pacing
from appliance.outbound.inbound_optout import InboundOptOuts
from appliance.outbound.ledger import Ledger
from appliance.outbound.planner import Planner
from appliance.outbound.reminder_call import Voice
from appliance.outbound.report import day_report
from appliance.outbound.run import RunOptions, build_dialler, reminder_call
from appliance.store.bootstrap import audit_key, open_database
from appliance.store.db import Database
from appliance.store.pseudonyms import caller_hash, caller_hash_key
from tests.conftest import store_config
from tests.fakes import FakeClock, FakeDetector, FakeStt, FakeTts
from tests.integration.outbound_support import KEY as HASH_KEY
from tests.integration.outbound_support import (
    NY,
    STORE_MIGRATIONS,
    attempt,
    book,
    consent,
    ledger,
    open_store,
)
from tests.integration.test_outbound_run import ANA, BEN, GIVEN, WEDNESDAY, HelloLine

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(store_config(tmp_path, extra="[outbound]\nenabled = true\n"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "report.db")
    yield store
    store.close()


def at(hour: int, day: date = WEDNESDAY) -> datetime:
    return datetime.combine(day, time(hour), NY)


async def test_a_days_attempts_answers_opt_outs_and_skips(settings: Settings, db: Database) -> None:
    book(db, "a4", "p4", at(15))
    book(db, "a5", "p5", at(16))
    book(db, "a1", "p1", at(9))  # no consent
    book(db, "a6", "p6", at(10))  # no number
    book(db, "a2", "p2", at(11))  # cancelled at the desk before any call
    db.execute(lambda c: c.execute("UPDATE appointments SET status = 'cancelled' WHERE id = 'a2'"))
    book(db, "b4", "p4", at(9, date(2026, 11, 26)))  # another day: not in the report
    consent(ledger(db), "p4", ANA, GIVEN)
    consent(ledger(db), "p5", BEN, GIVEN)
    clock = FakeClock(start=at(12, date(2026, 11, 24)).timestamp() - FakeClock.EPOCH)
    stt = FakeStt(clock, ["hi", "yes", "yes I'll be there", "hello", "please stop calling me"])
    voice = Voice(FakeTts(clock), stt, lambda: FakeDetector(clock), clock)
    options = RunOptions(WEDNESDAY, "pbx.test", "555 010 0999", pacing=Pacing(max_concurrent=1))
    talk = reminder_call(settings, db, voice, options.callback)
    dialler = build_dialler(settings, db, HASH_KEY, (HelloLine(clock, {}), talk, clock), options)
    await clock.run(dialler.run(WEDNESDAY))
    attempt(Ledger(db, HASH_KEY).for_call("c9"), "a4", ANA, at(13).timestamp(), "busy")
    inbound = InboundOptOuts(db, HASH_KEY, clock=lambda: at(14).timestamp())
    said = await inbound.heard(
        CallId("in-1"), caller_hash(HASH_KEY, "+15550100001"), "stop calling me"
    )
    assert said is not None
    planner = Planner.from_settings(db, HASH_KEY, settings)
    report = day_report(db, planner, ZoneInfo("America/New_York"), WEDNESDAY, at(17))
    assert report.public() == {
        "date": "2026-11-25",
        "appointments": 5,
        "dialled": 2,
        "attempts": {"answered": 2, "voicemail": 0, "busy": 1, "no-answer": 0, "failed": 0},
        "confirmed": 1,
        "cancelled": 0,
        "rescheduled": 0,
        "opt_outs": 1,
        "inbound_opt_outs": 1,
        "not_dialled": {"dnc": 1, "no-number": 1, "not-booked": 1},  # a1: the inbound opt-out
    }
    text = "\n".join(report.lines())
    assert "opt-outs: 1 on reminder calls, 1 inbound" in text
    assert not any(s in text for s in ("a4", "p4", "5550144", "Ana", " pn-", " pt-"))
    thursday = day_report(db, planner, ZoneInfo("America/New_York"), date(2026, 11, 26), at(17))
    assert thursday.appointments == 1 and thursday.inbound_opt_outs == 0
    assert thursday.not_dialled == {"pending": 1}  # consent in force: it may still be called


def test_a_move_on_a_reminder_call_counts_on_the_appointments_date(
    settings: Settings, db: Database
) -> None:
    book(db, "a4", "p4", at(15))
    Ledger(db, HASH_KEY).for_call("c1").audit_result("a4", "rescheduled", at(9).timestamp())
    planner = Planner.from_settings(db, HASH_KEY, settings)
    report = day_report(db, planner, ZoneInfo("America/New_York"), WEDNESDAY, at(17))
    assert report.rescheduled == 1 and report.confirmed == 0
    assert "confirmed 0, cancelled 0, rescheduled 1" in "\n".join(report.lines())


def test_the_cli_prints_the_report_as_text_or_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path)
    settings = load_settings(config)
    db = open_database(settings, STORE_MIGRATIONS, create=True)
    try:
        from appliance.scheduling.importer import import_directory
        from tests.integration.outbound_support import ASSETS

        import_directory(db, ASSETS)
        book(db, "a1", "p1", at(10))
        book(db, "a2", "p2", at(11))
        key = caller_hash_key(audit_key(settings))
        consent(Ledger(db, key), "p1", "+15550100001", GIVEN)
        attempt(Ledger(db, key), "a1", "+15550100001", at(9).timestamp(), "no-answer")
    finally:
        db.close()
    report = ["--config", str(config), "reminders", "report", "--date", "2026-11-25"]
    assert main([*report, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["attempts"]["no-answer"] == 1 and out["dialled"] == 1
    assert out["not_dialled"] == {"no-consent": 1}
    assert main(report) == 0
    text = capsys.readouterr().out
    assert text.startswith("reminders for 2026-11-25: 2 appointments, 1 dialled")
    assert "+1555" not in text and "a1" not in text

"""`appliance reminders run` put together: the dialler with the real reminder call on a
virtual clock (fakes only at the SIP and speech seams), inbound capacity read from the
store, and the CLI's dry run and refusals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.config import Settings, load_settings
from appliance.outbound.dialler import Pacing
from appliance.outbound.ledger import Ledger
from appliance.outbound.reminder_call import Voice
from appliance.outbound.run import (
    RunOptions,
    StoreCapacity,
    build_dialler,
    dialler_sip,
    reminder_call,
)
from appliance.store.bootstrap import audit_key, open_database
from appliance.store.db import Connection, Database
from appliance.store.pseudonyms import caller_hash_key
from tests.conftest import store_config
from tests.fakes import FakeClock, FakeDetector, FakeStt, FakeTts, Speech
from tests.integration.outbound_support import KEY as HASH_KEY
from tests.integration.outbound_support import (
    NY,
    STORE_MIGRATIONS,
    book,
    consent,
    ledger,
    open_store,
)
from tests.integration.test_outbound_dialler import Line, Placed

pytestmark = pytest.mark.integration

WEDNESDAY = date(2026, 11, 25)
GIVEN = datetime(2026, 10, 1, 9, 0, tzinfo=NY)
ANA, BEN = "+12125550144", "+13105550155"  # p4 New York, p5 Los Angeles


class HelloLine(Line):
    """Every call is answered by a person who says hello and answers two questions."""

    async def place(self, uri: str, headers: dict[str, str] | None = None) -> Placed:
        placed = await super().place(uri, headers)
        placed._timeline = [Speech(0.3, 0.5)]
        placed._answers = 2
        return placed


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(store_config(tmp_path, extra="[outbound]\nenabled = true\n"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "run.db")
    yield store
    store.close()


def attempts(db: Database) -> list[tuple[str, str]]:
    def read(conn: Connection) -> list[tuple[str, str]]:
        rows = conn.execute("SELECT appointment_id, outcome FROM outbound_attempts ORDER BY id")
        return [(str(r[0]), str(r[1])) for r in rows]

    return db.query(read)


async def test_one_confirms_one_opts_out_and_neither_is_dialled_again(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    book(db, "a4", "p4", datetime.combine(WEDNESDAY, time(15), NY))
    book(db, "a5", "p5", datetime.combine(WEDNESDAY, time(16), NY))
    consent(ledger(db), "p4", ANA, GIVEN)
    consent(ledger(db), "p5", BEN, GIVEN)
    clock = FakeClock(start=datetime(2026, 11, 24, 12, 0, tzinfo=NY).timestamp() - FakeClock.EPOCH)
    line = HelloLine(clock, {})
    stt = FakeStt(clock, ["hi", "yes", "yes I'll be there", "hello", "please stop calling me"])
    voice = Voice(FakeTts(clock), stt, lambda: FakeDetector(clock), clock)
    options = RunOptions(WEDNESDAY, "pbx.test", "555 010 0999", pacing=Pacing(max_concurrent=1))
    talk = reminder_call(settings, db, voice, options.callback)
    dialler = build_dialler(settings, db, HASH_KEY, (line, talk, clock), options)
    report = await clock.run(dialler.run(WEDNESDAY))
    assert [(a.appointment_id, a.outcome, a.result) for a in report.attempts] == [
        ("a4", "answered", "confirmed"),
        ("a5", "answered", "opted-out"),
    ]
    assert [n for n, _ in line.invites] == [ANA, BEN]
    assert ledger(db).on_dnc(BEN) and not ledger(db).on_dnc(ANA)
    again = await clock.run(dialler.run(WEDNESDAY))  # a second run the same day
    assert again.attempts == [] and again.not_dialled == {"a4": "reminded", "a5": "dnc"}
    assert len(line.invites) == 2 and attempts(db) == [("a4", "answered"), ("a5", "answered")]
    logged = [f"{r.getMessage()} {vars(r)}" for r in caplog.records]
    assert any("reminder-answered" in x for x in logged)
    assert not [x for x in logged if "5550144" in x or "5550155" in x or "Ana" in x]


def test_inbound_capacity_is_the_edges_slots_less_open_calls(db: Database) -> None:
    now = 1_800_000_000.0

    def calls(conn: Connection) -> None:
        for call_id, started, ended in (
            ("open", now - 60, None),
            ("done", now - 600, now - 300),
            ("stale", now - 7200, None),  # a crashed call's row: older than max_call_s
        ):
            conn.execute(
                "INSERT INTO calls (call_id, started_at, ended_at, codec, remote_hash)"
                " VALUES (?, ?, ?, 'PCMU', 'h')",
                (call_id, started, ended),
            )

    db.execute(calls)
    assert StoreCapacity(db, 8, 3600.0, lambda: now).inbound_free() == 7


def test_the_dialler_endpoint_takes_ports_of_its_own(settings: Settings) -> None:
    sip = dialler_sip(settings.sip, 0)
    assert sip.port == 0 and sip.registrations == []
    assert sip.rtp_port == settings.sip.rtp_port + settings.sip.rtp_port_range


def test_the_cli_dry_run_dials_nothing_and_a_real_run_needs_it_enabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path)
    settings = load_settings(config)
    db = open_database(settings, STORE_MIGRATIONS, create=True)
    try:
        from appliance.scheduling.importer import import_directory
        from tests.integration.outbound_support import ASSETS

        import_directory(db, ASSETS)
        book(db, "a1", "p1", datetime(2026, 11, 25, 10, tzinfo=NY))
        book(db, "a2", "p2", datetime(2026, 11, 25, 11, tzinfo=NY))
        key = caller_hash_key(audit_key(settings))  # the CLI's hash key
        consent(Ledger(db, key), "p1", "+15550100001", GIVEN)
    finally:
        db.close()
    run = ["--config", str(config), "reminders", "run", "--date", "2026-11-25"]
    assert main([*run, "--dry-run", "--now", "2026-11-24T10:05-05:00"]) == 0
    out = capsys.readouterr().out
    assert "outbound off: a real run would refuse" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert lines["a1"][0] == "dial-now" and lines["a2"] == ["not-dialled", "no-consent"]
    assert "+1555" not in out and "Maria" not in out
    assert main(run) == 2
    assert "outbound-disabled" in capsys.readouterr().err
    assert main([*run, "--now", "2026-11-24T10:05-05:00"]) == 2
    assert "outbound-bad-time" in capsys.readouterr().err
    db = open_database(settings, STORE_MIGRATIONS)
    try:
        assert attempts(db) == []
    finally:
        db.close()


def test_a_real_run_needs_a_route_and_a_call_back_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path, extra="[outbound]\nenabled = true\n")
    run = ["--config", str(config), "reminders", "run", "--date", "2026-11-25"]
    assert main([*run, "--callback", "555 010 0999"]) == 2
    assert "outbound-no-route" in capsys.readouterr().err
    assert main([*run, "--via", "pbx", "--callback", "5550100999", "--max-concurrent", "0"]) == 2
    assert "outbound-bad-pacing" in capsys.readouterr().err

"""Seeding the demo clinic into a real SQLCipher store: an empty schedule gets the clinic
and its appointments, relative to the seed date, in one audited transaction; a store
that has providers is never touched; a bad row writes nothing; logs carry no PHI."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.config import load_settings
from appliance.demo import config as demo_config
from appliance.demo.seed import nth_working_day, seed_configured, seed_if_empty
from appliance.errors import SchedulingError
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.scheduling.model import SlotQuery
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.workflows.factory import knowledge_base

pytestmark = pytest.mark.integration

ASSETS = Path(__file__).resolve().parents[1] / "assets"
FIXTURE = ASSETS / "demo_clinic"  # stands in for appliance/demo/clinic
TZ = ZoneInfo("America/New_York")
TUESDAY = date(2026, 11, 24)  # Patel works Mon and Wed; Wed 2026-12-02 is a holiday


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "store.db", "5d" * 32, MIGRATIONS)
    yield database
    database.close()


def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    return db.query(lambda c: [tuple(r) for r in c.execute(sql)])


def test_an_empty_store_gets_the_clinic_and_appointments_relative_to_the_seed_date(
    db: Database,
) -> None:
    counts = seed_if_empty(db, TZ, FIXTURE, today=TUESDAY)
    assert counts == {
        "providers.csv": 2,
        "appointment_types.csv": 2,
        "working_hours.csv": 7,
        "holidays.csv": 3,
        "patients.csv": 3,
        "appointments.csv": 3,
    }
    booked = rows(
        db,
        "SELECT patient_id, provider_id, type_id, start_utc, end_utc, status, call_id"
        " FROM appointments ORDER BY start_utc",
    )
    local = [
        (p, datetime.fromtimestamp(int(s), TZ), (int(e) - int(s)) // 60)
        for p, _, _, s, e, _, _ in booked
    ]
    assert local == [
        ("p1", datetime(2026, 11, 25, 10, 0, tzinfo=TZ), 30),  # 1st: Wednesday
        ("p2", datetime(2026, 11, 30, 14, 0, tzinfo=TZ), 60),  # 2nd: Monday
        ("p3", datetime(2026, 12, 7, 9, 0, tzinfo=TZ), 30),  # 3rd: Mon (Wed 12-02: holiday)
    ]
    assert {(b[5], b[6]) for b in booked} == {("booked", None)}


async def test_the_seeded_appointments_are_the_schedule_s_own(db: Database) -> None:
    seed_if_empty(db, TZ, FIXTURE, today=TUESDAY)
    now = datetime(2026, 11, 24, 12, 0, tzinfo=TZ)
    schedule = BuiltinSchedule(db, TZ, now=lambda: now)
    [mine] = await schedule.upcoming("p1")
    assert (mine.provider_id, mine.start) == ("patel", datetime(2026, 11, 25, 10, 0, tzinfo=TZ))
    day = await schedule.find_slots(SlotQuery("checkup", "patel", day=date(2026, 11, 25), limit=50))
    assert mine.start not in {s.start for s in day}  # the slot is taken
    assert len(day) == 15  # 09:00-17:00 in 30 min, less the booked one


def test_seeding_is_audited_once_and_never_touches_a_store_with_providers(
    db: Database,
) -> None:
    assert seed_if_empty(db, TZ, FIXTURE, today=TUESDAY) is not None
    assert seed_if_empty(db, TZ, FIXTURE, today=TUESDAY + timedelta(days=9)) is None
    assert len(rows(db, "SELECT id FROM appointments")) == 3
    audit = rows(
        db,
        "SELECT actor, object_type, object_id, reason_code, component FROM audit"
        " WHERE action = 'demo.seeded'",
    )
    assert audit == [
        (
            "appliance",
            "schedule",
            "demo-clinic",
            "appointment_types=2,appointments=3,holidays=3,patients=3,providers=2,working_hours=7",
            "config",
        )
    ]


def test_a_real_clinic_s_import_is_never_overwritten(db: Database) -> None:
    import_directory(db, ASSETS / "schedule")  # the clinic's own schedule, no appointments
    assert seed_if_empty(db, TZ, FIXTURE, today=TUESDAY) is None
    assert rows(db, "SELECT COUNT(*) FROM holidays") == [(2,)]  # not the fixture's 3
    assert rows(db, "SELECT COUNT(*) FROM appointments") == [(0,)]
    assert rows(db, "SELECT COUNT(*) FROM audit WHERE action = 'demo.seeded'") == [(0,)]


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("p2,patel,consult,1,16:30", "outside the provider's hours"),  # ends 17:30
        ("p2,patel,consult,1,08:00", "outside the provider's hours"),
        ("p2,patel,checkup,1,10:15", "overlaps another appointment"),
        ("p9,patel,checkup,2,10:00", "unknown patient_id"),
        ("p2,nobody,checkup,2,10:00", "unknown provider_id"),
        ("p2,patel,xray,2,10:00", "unknown type_id"),
        ("p2,patel,checkup,0,10:00", "column after_working_days"),
        ("p2,patel,checkup,1,25:00", "column time"),
    ],
)
def test_a_bad_row_writes_nothing_and_names_the_line_not_the_value(
    db: Database, tmp_path: Path, row: str, why: str
) -> None:
    clinic = tmp_path / "clinic"
    shutil.copytree(FIXTURE, clinic)
    header = "patient_id,provider_id,type_id,after_working_days,time\n"
    (clinic / "appointments.csv").write_text(f"{header}p1,patel,checkup,1,10:00\n{row}\n")
    with pytest.raises(SchedulingError) as bad:
        seed_if_empty(db, TZ, clinic, today=TUESDAY)
    assert bad.value.code == "demo-bad-row"
    assert "appointments.csv:3:" in str(bad.value) and why in str(bad.value)
    assert row.split(",")[0] not in str(bad.value)  # no patient id, names or times
    for table in ("providers", "patients", "appointments", "audit"):
        assert rows(db, f"SELECT COUNT(*) FROM {table}") == [(0,)], table


def test_nth_working_day_skips_other_weekdays_and_holidays() -> None:
    mon_wed = {0, 2}
    assert nth_working_day(TUESDAY, 1, mon_wed, set()) == date(2026, 11, 25)
    assert nth_working_day(TUESDAY, 3, mon_wed, set()) == date(2026, 12, 2)
    assert nth_working_day(TUESDAY, 3, mon_wed, {"2026-12-02"}) == date(2026, 12, 7)
    assert nth_working_day(date(2026, 11, 25), 1, mon_wed, set()) == date(2026, 11, 30)
    assert nth_working_day(TUESDAY, 1, set(), set()) is None


def test_seed_logs_carry_no_phi(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        seed_if_empty(db, TZ, FIXTURE, today=TUESDAY)
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "demo clinic seeded" in logged
    for phi in ("Maria", "Gonzalez", "1980-04-12", "+1555", "p1"):
        assert phi not in logged


def test_settings_decide_whether_to_seed(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_config, "CLINIC_DIR", FIXTURE)
    off = tmp_path / "off.toml"
    off.write_text("[demo]\nclinic = false\n")
    seed_configured(db, load_settings(off))
    assert rows(db, "SELECT COUNT(*) FROM providers") == [(0,)]
    seed_configured(db, load_settings(None))  # the default: on
    assert rows(db, "SELECT COUNT(*) FROM providers") == [(2,)]


def test_a_broken_demo_clinic_is_logged_with_a_code_and_the_store_stays_empty(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(demo_config, "CLINIC_DIR", tmp_path / "missing")
    with caplog.at_level(logging.INFO):
        seed_configured(db, load_settings(None))  # does not raise: the appliance goes on
    codes = [getattr(r, "code", None) for r in caplog.records]
    assert "import-empty" in codes
    assert rows(db, "SELECT COUNT(*) FROM providers") == [(0,)]


def test_the_demo_kb_answers_when_no_kb_file_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_config, "CLINIC_DIR", FIXTURE)
    demo_kb = knowledge_base(load_settings(None))
    assert demo_kb.answer("is there an Aetna plan you take") == (
        "We accept most major plans, including Aetna, Blue Cross and Medicare."
    )
    off = tmp_path / "off.toml"
    off.write_text("[demo]\nclinic = false\n")
    clinic_kb = knowledge_base(load_settings(off))  # built from [clinic] hours and facts
    assert clinic_kb.answer("is there an Aetna plan you take") is None
    assert clinic_kb.answer("where do I park") == load_settings(off).clinic.facts
    own = tmp_path / "own.toml"
    own.write_text(f'[workflows]\nkb_file = "{ASSETS / "kb.toml"}"\n')
    assert knowledge_base(load_settings(own)).answer("aetna?") is not None


@pytest.mark.skipif(
    not (demo_config.CLINIC_DIR / "providers.csv").is_file(),
    reason="the demo clinic's data (appliance/demo/clinic) is not in this checkout",
)
def test_the_shipped_demo_clinic_seeds_whatever_the_seed_date(tmp_path: Path) -> None:
    """Every appointment of appointments.csv lands inside its provider's hours, on any
    weekday and around the holidays (else seeding would fail on some days)."""
    first = date(2026, 11, 16)
    for offset in range(0, 60, 3):
        day = first + timedelta(days=offset)
        database = Database.open(tmp_path / f"{day}.db", "5d" * 32, MIGRATIONS)
        try:
            counts = seed_if_empty(database, TZ, demo_config.CLINIC_DIR, today=day)
            assert counts is not None and counts["appointments.csv"] > 0
            assert counts["patients.csv"] >= 5
        finally:
            database.close()

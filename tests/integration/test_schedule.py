"""The built-in schedule on real SQLCipher: import, slot search, atomic booking."""

from __future__ import annotations

import asyncio
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.errors import SchedulingError
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.scheduling.model import Slot, SlotQuery
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database

pytestmark = pytest.mark.integration

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "schedule"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)  # Tuesday 10:05


def open_db(path: Path) -> Database:
    return Database.open(path, "7e" * 32, MIGRATIONS)  # migration 2 creates the schedule tables


@pytest.fixture
def schedule(tmp_path: Path):
    db = open_db(tmp_path / "s.db")
    import_directory(db, ASSETS)
    yield BuiltinSchedule(db, TZ, now=lambda: NOW)
    db.close()


async def test_next_slots_skip_the_past_holidays_and_bookings(schedule) -> None:
    slots = await schedule.find_slots(SlotQuery("checkup", provider_id="lee", limit=3))
    starts = [s.start for s in slots]
    # Tuesday from 10:30 (10:05 now, 30-min grid), then Wednesday; Thursday is Thanksgiving
    assert starts == [
        datetime(2026, 11, 24, 10, 30, tzinfo=TZ),
        datetime(2026, 11, 24, 11, 0, tzinfo=TZ),
        datetime(2026, 11, 24, 11, 30, tzinfo=TZ),
    ]
    thursday = await schedule.find_slots(
        SlotQuery("checkup", provider_id="lee", day=date(2026, 11, 26))
    )
    assert thursday == []
    friday = await schedule.find_slots(
        SlotQuery("checkup", provider_id="lee", day=date(2026, 11, 27), limit=10)
    )
    assert len(friday) == 8 and friday[0].start.time() == time(8, 0)


async def test_time_window_and_any_provider(schedule) -> None:
    slots = await schedule.find_slots(
        SlotQuery("consult", day=date(2026, 11, 30), earliest=time(14, 0), limit=5)
    )
    assert [(s.provider_id, s.start.hour) for s in slots] == [
        ("patel", 14),
        ("patel", 15),
        ("patel", 16),
    ]


async def test_book_reschedule_cancel_round_trip(schedule) -> None:
    [slot] = await schedule.find_slots(SlotQuery("checkup", provider_id="lee", limit=1))
    booked = await schedule.book("p1", slot, call_id="c1")
    assert booked.status == "booked" and booked.start == slot.start
    again = await schedule.find_slots(SlotQuery("checkup", provider_id="lee", limit=1))
    assert again[0].start == slot.start + timedelta(minutes=30)
    [upcoming] = await schedule.upcoming("p1")
    assert upcoming.id == booked.id
    [later] = await schedule.find_slots(
        SlotQuery("checkup", provider_id="lee", day=date(2026, 11, 27), limit=1)
    )
    moved = await schedule.reschedule(booked.id, later)
    assert moved.start == later.start
    freed = await schedule.find_slots(SlotQuery("checkup", provider_id="lee", limit=1))
    assert freed[0].start == slot.start
    cancelled = await schedule.cancel(booked.id)
    assert cancelled.status == "cancelled" and await schedule.upcoming("p1") == []
    with pytest.raises(SchedulingError) as err:
        await schedule.cancel(booked.id)
    assert err.value.code == "unknown-appointment"


async def test_two_concurrent_calls_never_get_the_same_slot(schedule) -> None:
    [slot] = await schedule.find_slots(SlotQuery("checkup", provider_id="lee", limit=1))
    results = await asyncio.gather(
        *(schedule.book(p, slot, None) for p in ("p1", "p2", "p3", "p1", "p2")),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, SchedulingError)]
    assert len(wins) == 1 and len(losses) == 4
    assert {e.code for e in losses} == {"slot-taken"}


async def test_overlapping_longer_appointment_is_refused(schedule) -> None:
    day = date(2026, 11, 30)
    [consult] = await schedule.find_slots(
        SlotQuery("consult", provider_id="patel", day=day, limit=1)
    )
    await schedule.book("p1", consult, None)
    half = Slot(
        "patel",
        "checkup",
        consult.start + timedelta(minutes=30),
        consult.start + timedelta(minutes=60),
    )
    with pytest.raises(SchedulingError) as err:
        await schedule.book("p2", half, None)
    assert err.value.code == "slot-taken"


@pytest.mark.parametrize(
    ("slot", "code"),
    [
        (
            Slot(
                "lee",
                "checkup",
                datetime(2026, 11, 26, 9, 0, tzinfo=TZ),
                datetime(2026, 11, 26, 9, 30, tzinfo=TZ),
            ),
            "slot-invalid",
        ),  # holiday
        (
            Slot(
                "lee",
                "checkup",
                datetime(2026, 11, 27, 13, 0, tzinfo=TZ),
                datetime(2026, 11, 27, 13, 30, tzinfo=TZ),
            ),
            "slot-invalid",
        ),  # off hours
        (
            Slot(
                "lee",
                "checkup",
                datetime(2026, 11, 27, 9, 0, tzinfo=TZ),
                datetime(2026, 11, 27, 10, 0, tzinfo=TZ),
            ),
            "slot-invalid",
        ),  # wrong length
        (
            Slot(
                "lee",
                "checkup",
                datetime(2026, 11, 23, 9, 0, tzinfo=TZ),
                datetime(2026, 11, 23, 9, 30, tzinfo=TZ),
            ),
            "slot-in-past",
        ),
        (
            Slot(
                "lee",
                "nope",
                datetime(2026, 11, 27, 9, 0, tzinfo=TZ),
                datetime(2026, 11, 27, 9, 30, tzinfo=TZ),
            ),
            "unknown-appointment-type",
        ),
    ],
)
async def test_invented_slots_are_refused(schedule, slot: Slot, code: str) -> None:
    with pytest.raises(SchedulingError) as err:
        await schedule.book("p1", slot, None)
    assert err.value.code == code


async def test_patient_lookup_needs_name_and_birth_date(schedule) -> None:
    found = await schedule.find_patient("maria", "GONZALEZ", date(1980, 4, 12))
    assert found is not None and found.id == "p1"
    assert await schedule.find_patient("Maria", "Gonzalez", date(1980, 4, 13)) is None
    assert await schedule.find_patient("John", "Smith", date(1975, 9, 30)) is not None
    assert await schedule.find_patient("Jane", "Smith", date(1975, 9, 30)) is None
    found = await schedule.find_patient("Jon", "Smyth", date(1975, 9, 30))  # Whisper's spelling
    assert found is not None and found.id == "p2"


def test_import_is_all_or_nothing_and_errors_hide_values(tmp_path: Path) -> None:
    src = tmp_path / "csv"
    shutil.copytree(ASSETS, src)
    with (src / "patients.csv").open("a") as fh:
        fh.write("p9,Secretname,Hidden,not-a-date,\n")
    db = open_db(tmp_path / "s.db")
    with pytest.raises(SchedulingError) as err:
        import_directory(db, src)
    assert err.value.code == "import-bad-row"
    assert "patients.csv:5" in err.value.message and "birth_date" in err.value.message
    assert "Secretname" not in str(err.value) and "not-a-date" not in str(err.value)
    count = db.query(lambda c: c.execute("SELECT count(*) FROM providers").fetchone()[0])
    assert count == 0
    db.close()


def test_import_counts(tmp_path: Path) -> None:
    db = open_db(tmp_path / "s.db")
    assert import_directory(db, ASSETS) == {
        "providers.csv": 2,
        "appointment_types.csv": 2,
        "working_hours.csv": 7,
        "holidays.csv": 2,
        "patients.csv": 3,
    }
    db.close()


def test_cli_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from appliance.cli.main import main

    cfg = tmp_path / "a.toml"
    cfg.write_text(
        f'[paths]\nvar_dir = "{tmp_path}"\n'
        f'[store]\ndb_file = "{tmp_path}/a.db"\nkey_file = "{tmp_path}/keys/db.key"\n'
    )
    assert main(["--config", str(cfg), "schedule", "import", str(ASSETS)]) == 0
    assert "patients.csv: 3 rows" in capsys.readouterr().out
    assert main(["--config", str(cfg), "schedule", "import", str(tmp_path)]) == 2
    assert "import-empty" in capsys.readouterr().err

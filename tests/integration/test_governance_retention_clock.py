"""Retention cutoffs are wall-clock times: a purge on a clock that looks wrong (a year
ahead after a bad RTC, stepped since the last purge, behind the audit log) deletes
nothing and says so (`retention-clock-suspect`). Real SQLCipher store; the wall and
monotonic clocks are injected (the purge's seam)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.__main__ import main
from appliance.config import Settings
from appliance.governance.retention import DAY_S, PurgeReport, RetentionPolicy, purge
from appliance.governance.retention_clock import RetentionClock
from appliance.governance.retention_job import purge_periodically
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditEvent, AuditLog
from appliance.store.bootstrap import open_database
from appliance.store.db import Database
from tests.integration.test_governance_retention import (
    NOW,
    add_call,
    make_settings,
    purge_audit,
    table_ids,
)

pytestmark = pytest.mark.integration

SUSPECT = "retention-clock-suspect"


@dataclass
class VirtualClock:
    wall: float
    mono: float

    def clock(self) -> RetentionClock:
        return RetentionClock(wall=lambda: self.wall, monotonic=lambda: self.mono)

    def advance(self, mono_s: float, wall_s: float | None = None) -> None:
        self.mono += mono_s
        self.wall += mono_s if wall_s is None else wall_s


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Path]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    return make_settings(tmp_path)


async def store_with_calls(s: Settings) -> Database:
    db = open_database(s, MIGRATIONS, create=True)
    for call_id, days in (("a400", 400), ("d10", 10), ("e2", 2)):
        await add_call(db, call_id, days)
    return db


def suspect_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "code", None) == SUSPECT]


async def test_a_clock_a_year_ahead_purges_nothing(
    settings: tuple[Settings, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """The RTC came up a year ahead: every class would be past its retention."""
    s, _ = settings
    policy = RetentionPolicy.from_settings(s)
    db = await store_with_calls(s)
    try:
        first = purge(db, policy, now=NOW)
        before, audited = table_ids(db), len(purge_audit(db))
        with caplog.at_level(logging.WARNING, logger="appliance.governance.retention"):
            jumped = purge(db, policy, now=NOW + 365 * DAY_S)
        after, audited_after = table_ids(db), len(purge_audit(db))
    finally:
        db.close()
    assert first.counts["call"] == 1 and first.clock_suspect is None
    assert after == before and audited_after == audited  # nothing deleted, nothing audited
    assert jumped.counts == {} and not jumped.vacuumed
    assert jumped.clock_suspect is not None and "days since the last purge" in jumped.clock_suspect
    assert SUSPECT in jumped.line()
    assert len(suspect_warnings(caplog)) == 1


async def test_a_clock_stepped_since_the_last_purge_is_caught_by_the_monotonic_clock(
    settings: tuple[Settings, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A step of 20 days (within the gap allowed between purges) in a running appliance:
    the wall clock moved 21 days while the monotonic clock moved one."""
    s, _ = settings
    policy = RetentionPolicy.from_settings(s)
    v = VirtualClock(wall=NOW, mono=5000.0)
    clock = v.clock()
    db = await store_with_calls(s)
    try:
        assert purge(db, policy, clock=clock).clock_suspect is None
        kept = table_ids(db)
        assert kept["handoffs"] == [("e2",)]  # 2 days old: would go with the step (7 days)
        v.advance(DAY_S, 21 * DAY_S)
        with caplog.at_level(logging.WARNING, logger="appliance.governance.retention"):
            stepped = purge(db, policy, clock=clock)
            v.advance(DAY_S)  # still 20 days off against the last purge that ran
            still = purge(db, policy, clock=clock)
            v.wall = NOW + 2 * DAY_S - 3600.0  # put back too far: an hour behind
            back = purge(db, policy, clock=clock)
        untouched = table_ids(db)
        v.wall = NOW + 2 * DAY_S + 40.0  # the clock put right (40 s of slew)
        right = purge(db, policy, clock=clock)
    finally:
        db.close()
    assert stepped.clock_suspect and "monotonic" in stepped.clock_suspect
    assert still.clock_suspect and back.clock_suspect
    assert untouched == kept
    assert right.clock_suspect is None and right.counts["handoff"] == 0
    assert len(suspect_warnings(caplog)) == 3


async def test_the_running_appliance_skips_a_purge_when_the_clock_jumps(
    settings: tuple[Settings, Path], caplog: pytest.LogCaptureFixture
) -> None:
    s, _ = settings
    v = VirtualClock(wall=NOW, mono=100.0)
    db = await store_with_calls(s)
    try:
        stop, reports = asyncio.Event(), list[PurgeReport]()

        def got(report: PurgeReport) -> None:
            reports.append(report)
            v.advance(0.05, 365 * DAY_S)  # NTP steps the clock a year ahead
            if len(reports) == 2:
                stop.set()

        policy = RetentionPolicy.from_settings(s)
        with caplog.at_level(logging.WARNING, logger="appliance.governance.retention"):
            job = purge_periodically(db, policy, 0.05, stop, got, clock=v.clock())
            await asyncio.wait_for(job, 30.0)
        left = table_ids(db)["calls"]
    finally:
        db.close()
    assert reports[0].counts["call"] == 1 and reports[0].clock_suspect is None
    assert reports[1].clock_suspect is not None and reports[1].counts == {}
    assert left == [("d10",), ("e2",)]
    assert len(suspect_warnings(caplog)) == 1


async def test_the_cli_refuses_a_clock_behind_the_audit_log_unless_told_it_is_right(
    settings: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    s, config = settings
    db = open_database(s, MIGRATIONS, create=True)
    try:
        await add_call(db, "old", 900)
        later = time.time() + 2 * 3600  # written while the clock was two hours ahead
        AuditLog(db).append(AuditEvent("tester", "operator", "test.ahead", at=later))
    finally:
        db.close()
    assert main(["--config", str(config), "db", "purge"]) == 1
    err = capsys.readouterr().err
    assert SUSPECT in err and "behind the newest audit record" in err
    assert main(["--config", str(config), "db", "purge", "--clock-checked"]) == 0
    assert "call 1" in capsys.readouterr().out

"""Audit record times never go backwards: a record appended while the wall clock is
behind the last record's `at` (stepped back by NTP, a bad RTC) takes that `at`, and the
step is visible (log code `clock-backwards`, a counter), never PHI."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.services.app_db import MIGRATIONS
from appliance.store import audit
from appliance.store.audit import AuditEvent, AuditLog, read_records, utc_iso
from appliance.store.bootstrap import open_database
from appliance.store.db import Database
from tests.integration.test_governance_audit import make_settings

pytestmark = pytest.mark.integration

T = 1_790_000_000.0


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    settings: Settings = make_settings(tmp_path, every=2)[0]
    store = open_database(settings, MIGRATIONS, create=True)
    yield store
    store.close()


def event(action: str, at: float | None) -> AuditEvent:
    return AuditEvent("tester", "operator", action, at=at)


def test_a_clock_stepped_back_does_not_move_audit_times_back(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    log = AuditLog(db)
    counted = audit.clock_backwards_count()
    log.append(event("test.first", T))
    with caplog.at_level(logging.WARNING, logger="appliance.store.audit"):
        log.append(event("test.clock-back-an-hour", T - 3600))
        log.append(event("test.clock-back-a-little", T - 0.2))  # other processes' order
        log.append(event("test.clock-right-again", T + 10))
    records = db.query(read_records)
    assert [r.at for r in records] == [utc_iso(T), utc_iso(T), utc_iso(T), utc_iso(T + 10)]
    assert AuditLog(db).verify().ok
    warned = [r for r in caplog.records if getattr(r, "code", None) == "clock-backwards"]
    assert len(warned) == 1 and warned[0].behind_s == pytest.approx(3600.0)  # type: ignore[attr-defined]
    assert "test." not in warned[0].getMessage()
    assert audit.clock_backwards_count() == counted + 1


def test_the_wall_clock_behind_the_last_record_keeps_its_time(db: Database) -> None:
    ahead = time.time() + 3600  # written while the clock was an hour ahead
    AuditLog(db).append(event("test.written-ahead", ahead))
    AuditLog(db).append(event("test.now", None))  # the real clock: an hour behind it
    records = db.query(read_records)
    assert records[1].at == records[0].at == utc_iso(ahead)

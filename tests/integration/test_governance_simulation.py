"""Simulation records on the real store: each run is an audit record (outcome, sha256);
the newest one since the use case entered its state decides whether it may leave draft;
an older pass, from before it went back to draft, does not count."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.errors import GovernanceError
from appliance.governance import simulation as sim
from appliance.governance import use_cases as uc
from appliance.store.audit import AuditLog
from appliance.store.db import Database
from tests.integration.rollout_seed import DAY, T0, simulated
from tests.integration.test_schedule import open_db

pytestmark = pytest.mark.integration


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "s.db")
    uc.ensure_built_in(database, demo=False, at=T0 - 30 * DAY)
    yield database
    database.close()


def newest(db: Database, case: str) -> str:
    return db.query(lambda conn: sim.passed_in(conn, case))


def code_of(db: Database, case: str) -> str:
    with pytest.raises(GovernanceError) as err:
        newest(db, case)
    return err.value.code


def test_the_newest_simulation_since_the_state_was_entered_decides(db: Database) -> None:
    assert code_of(db, "scheduling") == "usecase-simulation-missing"
    first = simulated(db, "scheduling", T0 - 10 * DAY)
    assert newest(db, "scheduling") == first
    assert code_of(db, "clinic-information") == "usecase-simulation-missing"  # its own only
    uc.change(db, uc.Change("scheduling", "killed", "dana"), T0 - 5 * DAY)
    uc.change(db, uc.Change("scheduling", "draft", "dana"), T0 - 4 * DAY)
    assert code_of(db, "scheduling") == "usecase-simulation-missing"  # from before draft
    simulated(db, "scheduling", T0 - 3 * DAY, passed=False)
    assert code_of(db, "scheduling") == "usecase-simulation-failed"
    again = simulated(db, "scheduling", T0 - 2 * DAY)
    assert newest(db, "scheduling") == again == first  # the same evidence, the same hash
    rows = db.query(
        lambda c: c.execute(
            "SELECT actor, action, object_id, outcome, reason_code FROM audit"
            " WHERE action = 'usecase.simulation' ORDER BY seq"
        ).fetchall()
    )
    assert [(r[3], r[4]) for r in rows] == [("ok", first), ("failed", rows[1][4]), ("ok", again)]
    assert {(r[0], r[1], r[2]) for r in rows} == {
        ("sim-runner", "usecase.simulation", "scheduling")
    }
    assert AuditLog(db).verify().ok


def test_a_simulation_of_no_use_case_is_refused(db: Database) -> None:
    report = sim.Report("no-such-case", 0.9, "0" * 64, (sim.Result("a", "reached", "x"),))
    with pytest.raises(GovernanceError) as err:
        sim.record(db, report, "alice", T0)
    assert err.value.code == "usecase-unknown"

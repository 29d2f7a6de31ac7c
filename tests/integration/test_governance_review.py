"""The monthly rollout review on the real store: only the month's records (UTC), per use
case: state changes, sign-offs, weekly gate results, demotions, kills, simulations and
the attributed calls; the agent's kill switch; counts and codes, no names or comments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.config import Governance
from appliance.errors import GovernanceError
from appliance.governance import review
from appliance.governance import use_cases as uc
from appliance.store.db import Connection, Database
from tests.integration.rollout_seed import DAY, REPLIED, T0, seed_call, simulated
from tests.integration.test_schedule import open_db

pytestmark = pytest.mark.integration
JAN = datetime(2027, 1, 1, tzinfo=UTC).timestamp()  # T0 is 2027-01-15 08:00 UTC
FEB = datetime(2027, 2, 1, tzinfo=UTC).timestamp()
REFILL = [("heard", None), ("replied", None), ("intent", "refill"), ("replied", None)]
DESK = [("intent", "book"), ("workflow-transfer", "caller-request"),
        ("transfer-requested", "caller-request")]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "s.db")
    uc.ensure_built_in(database, demo=False, at=JAN - 10 * DAY)  # December: not in it
    yield database
    database.close()


def test_the_month_and_its_bounds() -> None:
    assert review.month_bounds("2027-01") == (JAN, FEB)
    assert review.month_bounds("2026-12")[1] == JAN
    for wrong in ("2027-13", "2027-1", "27-01", "2027-01-01", ""):
        with pytest.raises(GovernanceError) as err:
            review.month_bounds(wrong)
        assert err.value.code == "review-month-invalid"
    assert review.checkpoints(JAN, FEB) == [JAN + n * 7 * DAY for n in (1, 2, 3, 4)] + [FEB]
    feb_end = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
    assert review.checkpoints(FEB, feb_end) == [FEB + n * 7 * DAY for n in (1, 2, 3)] + [feb_end]


def test_the_monthly_review_counts_the_months_records_only(db: Database) -> None:
    def calls(conn: Connection) -> None:
        for i in range(3):
            seed_call(conn, f"refill-{i}", T0 + i * 60, REFILL)
        seed_call(conn, "book-desk", T0, DESK)
        seed_call(conn, "info", T0, REPLIED)  # before intent events: clinic information
        seed_call(conn, "info-feb", FEB + DAY, REPLIED)

    db.execute(calls)
    uc.change(db, uc.Change("scheduling", "killed", "dana", comment="secret reason"), T0)
    uc.change(db, uc.Change("scheduling", "draft", "dana"), T0 + 60)
    uc.change(db, uc.Change(uc.AGENT, "killed", "dana"), T0 + 120)
    simulated(db, "scheduling", T0 + 180)
    simulated(db, "clinic-information", T0 + 240, passed=False)
    uc.change(db, uc.Change("clinic-information", "killed", "dana"), FEB + DAY)  # February
    body = db.query(lambda conn: review.monthly(conn, Governance(min_calls=2), "2027-01"))

    sched = body["use_cases"]["scheduling"]
    assert sched["state_changes"] == {"draft->killed": 1, "killed->draft": 1}
    assert sched["kills"] == {"killed": 1} and sched["simulations"] == {"ok": 1}
    assert sched["calls"] == {"calls": 1, "contained": 0, "escalated": 1}
    info = body["use_cases"]["clinic-information"]
    assert info["state_changes"] == {} and info["kills"] == {}  # February's kill is not here
    assert info["simulations"] == {"failed": 1}
    assert info["calls"] == {"calls": 1, "contained": 1, "escalated": 0}
    refills = body["use_cases"]["refills"]
    assert refills["calls"] == {"calls": 3, "contained": 3, "escalated": 0}
    assert [g["calls"] for g in refills["gates"]] == [0, 0, 3, 0, 0]  # windows to Jan 8 .. Feb 1
    assert [g["passed"] for g in refills["gates"]] == [False] * 5  # no officer, no scores
    assert refills["gates"][2]["failing"][0].startswith("evaluator:")
    assert body["agent"] == {"state_changes": {"live->killed": 1}, "signoffs": {}, "kills": 1}
    assert (body["from"], body["until"])[0].startswith("2027-01-01T00:00:00")
    text = json.dumps(body)
    assert "dana" not in text and "secret reason" not in text

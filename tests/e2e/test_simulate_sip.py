"""`appliance simulate SCENARIOS --runs 2` against the running appliance: a starter
scenario as two real SIP calls by the synthetic caller, pass^2, and the result recorded
in the audit chain where the draft -> simulated gate reads it."""

from __future__ import annotations

import json

import pytest

from appliance.governance.simulation import passed_in
from tests.e2e.conftest import Running
from tests.e2e.workflow_support import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def test_a_starter_scenario_passes_twice_over_sip_and_is_recorded(appliance: Running) -> None:
    args = ("simulate", "starter", "--only", "info-saturday-hours", "--runs", "2", "--json")
    out = appliance.cli(*args, timeout=360)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    [result] = json.loads(out.stdout)["results"]
    assert (result["use_case"], result["k"], result["passed"]) == ("clinic-information", 2, True)
    [scenario] = result["scenarios"]
    assert scenario["pass_k"] and scenario["passes"] == 2
    calls = [r["call_id"] for r in scenario["runs"]]
    assert len(set(calls)) == 2 and all(calls), calls  # two calls, each found in the store
    assert all(r["evaluators"]["ai-disclosure-within-10s"] == "pass" for r in scenario["runs"])
    db = open_store(appliance.var)
    try:
        assert db.query(passed_in, "clinic-information") == result["sha256"]
    finally:
        db.close()

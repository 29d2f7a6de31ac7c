"""`appliance governance` end to end on a real store: ticks and the checklist, the gates
as text and JSON (each criterion, value, n, pass/fail), a review sign-off with TOTP, the
sign-offs, and `enforce` pausing a live use case whose gate fails."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.services.app_db import open_store
from tests.conftest import REPO
from tests.integration.rollout_seed import REPLIED, TRANSFER_OK, Clock, enrol, green, seed_week

pytestmark = pytest.mark.integration


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), "governance", *args],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip


def test_the_governance_cli(tmp_path: Path) -> None:
    var = tmp_path / "var"
    config = tmp_path / "appliance.toml"
    config.write_text(
        f'[paths]\nvar_dir = "{var}"\n[demo]\nclinic = true\n'
        f'[store]\ndb_file = "{var}/appliance.db"\nkey_file = "{var}/keys/db.key"\n'
        f'audit_key_file = "{var}/keys/audit-signing.key"\n[governance]\nmin_calls = 20\n'
    )
    now = time.time()
    db, _ = open_store(load_settings(config))  # the demo clinic: two use cases in pilot
    try:
        cora = enrol(db, "cora", "compliance-officer", Clock(now - 120))
        seed_week(db, "info", REPLIED, 18, now=now)
        seed_week(db, "desk", TRANSFER_OK, 2, now=now)
        seed_week(db, "flag", REPLIED, 1, now=now, verdicts=green("identity-before-phi"))
    finally:
        db.close()
    shown = cli(config, "checklist", "scheduling")
    assert (
        shown.returncode == 0 and "[x] rollback-plan" in shown.stdout and "(demo)" in shown.stdout
    )
    assert cli(config, "clear", "billing", "rollback-plan", "--by", "rita").returncode == 0
    ticked = cli(config, "tick", "billing", "rollback-plan", "--by", "rita", "--evidence", "doc/rb")
    assert ticked.returncode == 0 and "billing: rollback-plan done" in ticked.stdout
    items = json.loads(cli(config, "checklist", "billing", "--json").stdout)["items"]
    assert [i["item"] for i in items if i["done"]] == ["rollback-plan"]
    assert items[5]["by"] == "rita" and items[5]["evidence"] == "doc/rb"

    text = cli(config, "gates")
    assert text.returncode == 0
    assert "clinic-information (low, pilot)" in text.stdout and ": FAIL" in text.stdout
    assert "containment" in text.stdout and "n=21" in text.stdout
    gates = {g["use_case"]: g for g in json.loads(cli(config, "gates", "--json").stdout)["gates"]}
    info = {c["name"]: c for c in gates["clinic-information"]["criteria"]}
    assert (info["calls"]["n"], info["calls"]["passed"]) == (21, True)
    assert info["containment"]["value"] == pytest.approx(19 / 21) and info["containment"]["passed"]
    assert info["compliance-flag-rate"]["passed"] is False and len(gates) == 5
    assert len(gates["billing"]["sha256"]) == 64

    code = cora.now()  # the replay below sends this same code, whichever step it falls in
    signed = cli(config, "signoff", "billing", "--by", "cora", "--totp", code,
                 "--comment", "reviewed the pilot")  # fmt: skip
    assert signed.returncode == 0 and "billing: signed off by cora" in signed.stdout
    again = cli(config, "signoff", "billing", "--by", "cora", "--totp", code,
                "--comment", "replayed")  # fmt: skip
    assert again.returncode == 2 and "usecase-totp-wrong" in again.stderr
    listed = json.loads(cli(config, "signoffs", "billing", "--json").stdout)
    assert [(s["approved_by"], s["approver_role"], s["to_state"]) for s in listed] == [
        ("cora", "compliance-officer", None)
    ]
    assert signed.stdout.split()[-1] == listed[0]["evidence_sha256"]
    enforced = cli(config, "enforce")
    assert enforced.returncode == 0
    assert "clinic-information: pilot -> paused (compliance-flag-rate)" in enforced.stdout

    month = time.strftime("%Y-%m", time.gmtime(time.time()))
    reported = cli(config, "report", "--month", month, "--json")
    assert reported.returncode == 0, reported.stderr
    body = json.loads(reported.stdout)
    info = body["use_cases"]["clinic-information"]
    assert info["state_changes"] == {"new->pilot": 1, "pilot->paused": 1}
    assert info["demotions"] == {"compliance-flag-rate": 1} and info["kills"] == {}
    assert body["use_cases"]["billing"]["signoffs"] == {"review:compliance-officer": 1}
    assert body["use_cases"]["refills"]["state_changes"] == {"new->killed": 1}
    assert "cora" not in reported.stdout and "reviewed the pilot" not in reported.stdout
    text = cli(config, "report", "--month", month)
    assert text.returncode == 0 and "demotions: compliance-flag-rate x1" in text.stdout
    wrong = cli(config, "report", "--month", "2027-13")
    assert wrong.returncode == 2 and "review-month-invalid" in wrong.stderr

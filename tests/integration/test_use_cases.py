"""Use cases and kill switches on the real store: the built-in ones and their first states
(a real install vs the demo clinic), the allowed changes (down at once, up one step with
a second person), the history and the audit chain, the gate in the workflow engine (a
draft use case never takes a call; a kill reaches the next turn of a call in progress)
and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.config import load_settings
from appliance.errors import GovernanceError, StoreError
from appliance.governance import checklist, promotion
from appliance.governance import use_cases as uc
from appliance.llm.understanding import Intent
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import open_store
from appliance.store.audit import AuditLog
from appliance.store.db import Database
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.said import Vocabulary, read_details
from appliance.workflows.understander import Understanding
from appliance.workflows.use_case_gate import UseCaseGate
from tests.conftest import REPO
from tests.integration.rollout_seed import Clock, enrol, simulated
from tests.integration.test_schedule import ASSETS, open_db

pytestmark = pytest.mark.integration

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "s.db")
    yield database
    database.close()


def audit_rows(db: Database) -> list[tuple[str, ...]]:
    """(action, object_id, actor, reason_code, every other column) of each audit record."""
    sql = "SELECT action, object_id, actor, reason_code, * FROM audit ORDER BY seq"
    return db.query(lambda c: [tuple(map(str, row)) for row in c.execute(sql)])


def test_a_real_install_starts_in_draft_with_high_risk_killed(db: Database) -> None:
    assert set(uc.ensure_built_in(db, demo=False)) == {uc.AGENT, *(c.id for c in uc.BUILT_IN)}
    assert uc.states(db) == {
        uc.AGENT: "live", "clinic-information": "draft", "scheduling": "draft",
        "billing": "killed", "refills": "killed", "test-results": "killed",
    }  # fmt: skip
    records = len(audit_rows(db))
    assert uc.ensure_built_in(db, demo=True) == []  # idempotent: states are kept
    assert len(audit_rows(db)) == records
    assert uc.states(db)["scheduling"] == "draft"


def test_the_demo_clinic_starts_its_low_and_medium_use_cases_in_pilot(db: Database) -> None:
    uc.ensure_built_in(db, demo=True)
    states = uc.states(db)
    assert states["clinic-information"] == states["scheduling"] == "pilot"
    assert states["billing"] == "killed"
    [first] = [h for h in uc.history(db, "scheduling")]
    assert first["requested_by"] == "demo-seed" and "demo sign-off" in str(first["comment"])


def test_changes_go_down_at_once_and_up_one_step_with_a_second_person(db: Database) -> None:
    uc.ensure_built_in(db, demo=False)
    refused = [
        (uc.Change("scheduling", "pilot", "alice", "bob"), "usecase-state-invalid"),  # 2 steps
        (uc.Change("scheduling", "simulated", "alice"), "usecase-needs-approver"),
        (uc.Change("scheduling", "simulated", "alice", " alice"), "usecase-needs-approver"),
        (uc.Change("scheduling", "paused", "alice"), "usecase-state-invalid"),  # not live
        (uc.Change("nope", "killed", "alice"), "usecase-unknown"),
        (uc.Change("scheduling", "everywhere", "alice"), "usecase-state-unknown"),
        (uc.Change("refills", "pilot", "alice", "bob"), "usecase-needs-comment"),  # high risk
        (uc.Change(uc.AGENT, "live", "alice"), "usecase-needs-approver"),
    ]
    for change, code in refused:
        with pytest.raises(GovernanceError) as caught:
            uc.change(db, change)
        assert caught.value.code == code, change
    clock = Clock(time.time() - 120)
    enrol(db, "alice", "contact-centre-lead", clock)
    roles = (("bob", "platform-engineer"), ("carol", "owner"), ("erin", "compliance-officer"))
    totp = {name: enrol(db, name, role, clock) for name, role in roles}
    for case in ("scheduling", "refills"):
        for item in checklist.ITEM_IDS:
            checklist.tick(db, checklist.Tick(case, item, "rita", "https://wiki/x"))

    def up(change: uc.Change) -> str:
        assert change.approved_by is not None
        code = totp[change.approved_by].now()
        return promotion.promote(db, change, code, promotion.Rules())

    simulated(db, "scheduling", time.time())
    assert up(uc.Change("scheduling", "simulated", "alice", "bob", "sim")) == "draft"
    assert up(uc.Change("scheduling", "pilot", "alice", "carol", "gate ok")) == "simulated"
    assert uc.change(db, uc.Change("scheduling", "paused", "dave")) == "pilot"
    assert up(uc.Change("refills", "pilot", "alice", "erin", "signed off")) == "killed"
    assert uc.change(db, uc.Change(uc.AGENT, "killed", "dave")) == "live"
    records = [r for r in audit_rows(db) if r[0] in ("usecase.state", "usecase.killed")]
    changes = [r[:4] for r in records[-5:]]
    assert changes == [
        ("usecase.state", "scheduling", "bob", "simulated"),
        ("usecase.state", "scheduling", "carol", "pilot"),
        ("usecase.state", "scheduling", "dave", "paused"),
        ("usecase.state", "refills", "erin", "pilot"),
        ("usecase.killed", uc.AGENT, "dave", "killed"),
    ]
    assert "gate ok" not in json.dumps(audit_rows(db))  # comments stay out of the chain
    promoted = uc.history(db, "scheduling")[2]
    assert promoted["approved_by"] == "carol" and len(str(promoted["evidence"])) == 64
    assert AuditLog(db).verify().ok
    with pytest.raises(StoreError, match="SQLITE_CONSTRAINT"):  # the trigger refuses it
        db.execute(lambda c: c.execute("UPDATE use_case_history SET comment = 'x'"))


def engine(db: Database, gate: UseCaseGate) -> WorkflowEngine:
    import_directory(db, ASSETS)
    schedule = BuiltinSchedule(db, TZ, now=lambda: NOW)
    return WorkflowEngine(schedule, load_kb(ASSETS.parent / "kb.toml"), TZ, use_cases=gate,
                          clock=lambda: NOW)  # fmt: skip


def understood(text: str, intent: Intent) -> Understanding:
    return Understanding(intent, read_details(text, Vocabulary(), NOW), False, 0.9, "rules")


async def test_a_draft_use_case_never_takes_a_call(db: Database) -> None:
    uc.ensure_built_in(db, demo=False)
    wf = engine(db, UseCaseGate(db))
    decision = await wf.turn(understood("I'd like to book a checkup", Intent.BOOK), "book")
    assert decision.transfer == "use-case-disabled"


async def test_a_kill_reaches_the_next_turn_of_a_call_in_progress(db: Database) -> None:
    uc.ensure_built_in(db, demo=True)
    clock = [0.0]
    wf = engine(db, UseCaseGate(db, ttl_s=2.0, clock=lambda: clock[0]))
    first = await wf.turn(understood("I'd like to book a checkup", Intent.BOOK), "book a checkup")
    assert first.transfer is None  # scheduling is in pilot: identity is asked
    uc.change(db, uc.Change(uc.AGENT, "killed", "dave"))
    clock[0] += 2.0  # within the gate's 2 s
    text = "My name is Maria Gonzalez, born April 12th, 1980."
    second = await wf.turn(understood(text, Intent.INFORM), text)
    assert second.transfer == "agent-killed"


async def test_a_killed_use_case_is_a_transfer_and_a_payment_is_not_taken(db: Database) -> None:
    uc.ensure_built_in(db, demo=True)
    wf = engine(db, UseCaseGate(db))
    pay = await wf.turn(understood("I want to pay my bill by card", Intent.BILLING), "pay by card")
    assert pay.transfer == "use-case-disabled" and not pay.payment


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, "usecases", *args)


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), *args],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip


def test_the_cli_kills_promotes_and_lists(tmp_path: Path) -> None:
    var = tmp_path / "var"
    config = tmp_path / "appliance.toml"
    config.write_text(
        f'[paths]\nvar_dir = "{var}"\n[demo]\nclinic = false\n'
        f'[store]\ndb_file = "{var}/appliance.db"\nkey_file = "{var}/keys/db.key"\n'
        f'audit_key_file = "{var}/keys/audit-signing.key"\n'
    )
    assert "scheduling           medium draft" in cli(config, "list").stdout
    db, _ = open_store(load_settings(config))
    clock = Clock(time.time() - 120)
    try:
        enrol(db, "alice", "contact-centre-lead", clock)
        bob, erin = enrol(db, "bob", "platform-engineer", clock), enrol(db, "erin", "owner", clock)
    finally:
        db.close()
    promote = ("promote", "scheduling", "--to", "simulated", "--by", "alice", "--comment", "ok")
    refused = cli(config, *promote, "--approved-by", "bob", "--totp", bob.now())
    assert refused.returncode == 2 and "usecase-simulation-missing" in refused.stderr
    failing = run_cli(config, "simulate", "--use-case", "refills", "--json")
    assert failing.returncode == 1 and not json.loads(failing.stdout)["passed"]
    evidence_file = tmp_path / "sim.json"
    sim = ("simulate", "--use-case", "scheduling", "--by", "alice", "--out", str(evidence_file))
    ran = run_cli(config, *sim)
    assert ran.returncode == 0 and "scheduling: PASS" in ran.stdout, ran.stderr
    report = json.loads(evidence_file.read_text())
    assert report["run"] == report["reached"] >= 20 and report["sha256"] in ran.stdout
    assert "Maria" not in evidence_file.read_text()  # ids and codes, never caller words
    refused = cli(config, *promote, "--approved-by", "alice", "--totp", "123456")
    assert refused.returncode == 2 and "usecase-needs-approver" in refused.stderr
    done = cli(config, *promote, "--approved-by", "bob", "--totp", bob.now())
    assert done.returncode == 0 and "scheduling: draft -> simulated" in done.stdout
    assert cli(config, "kill", "agent", "--by", "dave").returncode == 0
    listed = json.loads(cli(config, "list", "--json").stdout)
    assert listed["agent"] == "killed"
    assert {c["id"]: c["state"] for c in listed["use_cases"]}["scheduling"] == "simulated"
    revived = cli(config, "revive", "--by", "alice", "--approved-by", "erin", "--totp",
                  erin.now(), "--comment", "incident closed")  # fmt: skip
    assert revived.returncode == 0 and "agent: killed -> live" in revived.stdout
    assert cli(config, "export", str(tmp_path / "review.json")).returncode == 0
    review = json.loads((tmp_path / "review.json").read_text())
    assert len(review["history"]) == 6 + 3 and review["agent"] == "live"
    assert [s["approved_by"] for s in review["signoffs"]] == ["bob", "erin"]
    assert len(review["checklists"]["scheduling"]) == 7

"""Checklists, sign-offs and automatic demotion on the real store, with console accounts
enrolled through the console's own code: a promotion is refused while the checklist is
incomplete, without a second active user of the required role, with a wrong or replayed
TOTP, or (into production) while the gate fails; a signed promotion records the sha256
of the gate evidence in the sign-off, the history and the audit chain; a failing gate
pauses a live use case."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from appliance.config import Governance
from appliance.console import credentials as cred
from appliance.errors import GovernanceError, StoreError
from appliance.governance import checklist, demotion, gates, promotion, signoff
from appliance.governance import use_cases as uc
from appliance.store.audit import AuditLog
from appliance.store.db import Connection, Database
from tests.integration.rollout_seed import (
    DAY,
    REPLIED,
    T0,
    TRANSFER_OK,
    Clock,
    enrol,
    green,
    seed_call,
    seed_week,
    simulated,
)
from tests.integration.test_schedule import open_db

pytestmark = pytest.mark.integration
RULES = promotion.Rules(Governance(min_calls=20))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "s.db")
    yield database
    database.close()


def audit(db: Database, action: str) -> list[tuple[str, ...]]:
    sql = "SELECT actor, actor_role, object_id, reason_code, outcome FROM audit WHERE action = ?"
    return db.query(
        lambda c: [tuple(map(str, r)) for r in c.execute(sql + " ORDER BY seq", (action,))]
    )


def tick_all(db: Database, use_case: str, at: float) -> None:
    for item in checklist.ITEM_IDS:
        checklist.tick(db, checklist.Tick(use_case, item, "rita", f"https://wiki/{item}"), at)


def refused(code: str, call: object) -> None:
    assert callable(call)
    with pytest.raises(GovernanceError) as caught:
        call()
    assert caught.value.code == code


def test_the_checklist_is_versioned_append_only_and_needs_evidence(db: Database) -> None:
    uc.ensure_built_in(db, demo=False, at=T0 - 30 * DAY)
    bad = [
        (checklist.Tick("scheduling", "rollback-plan", "rita"), "checklist-needs-evidence"),
        (checklist.Tick("scheduling", "vibes", "rita", "x"), "checklist-item-unknown"),
        (checklist.Tick("nope", "rollback-plan", "rita", "x"), "usecase-unknown"),
    ]
    for tick, code in bad:
        refused(code, lambda tick=tick: checklist.tick(db, tick))
    tick_all(db, "scheduling", T0)
    checklist.tick(db, checklist.Tick("scheduling", "rollback-plan", "sam", done=False), T0 + 1)
    items = {i.item: i for i in checklist.items(db, "scheduling")}
    assert items["rollback-plan"].done is False and items["rollback-plan"].by == "sam"
    assert items["risk-tier"].evidence == "https://wiki/risk-tier" and items["risk-tier"].at == T0
    assert db.query(lambda c: checklist.missing_in(c, "scheduling", False)) == ["rollback-plan"]
    assert len(audit(db, "usecase.checklist")) == 8
    assert "https://wiki" not in json.dumps(audit(db, "usecase.checklist"))  # links stay out
    with pytest.raises(StoreError, match="SQLITE_CONSTRAINT"):
        db.execute(lambda c: c.execute("UPDATE use_case_checklist SET done = 1"))
    rows = db.query(
        lambda c: c.execute("SELECT DISTINCT version FROM use_case_checklist").fetchall()
    )
    assert rows == [(checklist.CHECKLIST_VERSION,)]


def test_the_demo_clinic_checklist_is_marked_demo(db: Database) -> None:
    uc.ensure_built_in(db, demo=True, at=T0)
    items = checklist.items(db, "scheduling")
    assert all(i.done and i.demo and i.by == "demo-seed" for i in items)
    assert db.query(lambda c: checklist.missing_in(c, "scheduling", True)) == []
    assert len(db.query(lambda c: checklist.missing_in(c, "scheduling", False))) == 7
    assert not any(i.done for i in checklist.items(db, "billing"))  # killed: not seeded


def test_a_demo_store_older_than_the_checklists_gets_demo_ticks(db: Database) -> None:
    def old_store(conn: Connection) -> None:  # what migration 8 left, before migration 13
        conn.execute("INSERT INTO use_cases VALUES ('scheduling', 'd', '[\"book\"]',"
                     " 'medium', 'o', 'pilot', 0)")  # fmt: skip
        conn.execute("INSERT INTO use_case_history (use_case, at, to_state, requested_by)"
                     " VALUES ('scheduling', 0, 'pilot', 'demo-seed')")  # fmt: skip

    db.execute(old_store)
    uc.ensure_built_in(db, demo=False, at=T0)
    assert not any(i.done for i in checklist.items(db, "scheduling"))  # a real install: none
    uc.ensure_built_in(db, demo=True, at=T0)
    assert all(i.done and i.demo for i in checklist.items(db, "scheduling"))
    assert not any(i.done for i in checklist.items(db, "clinic-information"))  # draft
    uc.ensure_built_in(db, demo=True, at=T0)  # once only
    assert db.query(lambda c: c.execute("SELECT COUNT(*) FROM use_case_checklist").fetchone()) == (
        7,
    )


def test_a_promotion_is_signed_off_by_a_second_user_with_totp(db: Database) -> None:
    uc.ensure_built_in(db, demo=False, at=T0 - 30 * DAY)
    clock = Clock(T0 - 20 * DAY)
    enrol(db, "alice", "contact-centre-lead", clock)
    bob = enrol(db, "bob", "platform-engineer", clock)
    desk = enrol(db, "dora", "front-desk", clock)
    at = clock.now

    def up(to: str, by: str, approver: str, code: str, case: str = "scheduling") -> object:
        change = uc.Change(case, to, by, approver, "looks good")
        return lambda: promotion.promote(db, change, code, RULES, at)

    unsigned = uc.Change("scheduling", "simulated", "alice", "bob")
    refused("usecase-needs-sign-off", lambda: uc.change(db, unsigned))
    refused("usecase-simulation-missing", up("simulated", "alice", "bob", bob.at(at)))
    simulated(db, "scheduling", at, passed=False)  # 80% reached: below 90%
    refused("usecase-simulation-failed", up("simulated", "alice", "bob", bob.at(at)))
    sim_sha = simulated(db, "scheduling", at)
    refused("usecase-requester-unknown", up("simulated", "mallory", "bob", bob.at(at)))
    refused("usecase-needs-approver", up("simulated", "bob", "bob", bob.at(at)))
    refused("usecase-approver-unknown", up("simulated", "alice", "zed", bob.at(at)))
    refused("usecase-approver-role", up("simulated", "alice", "dora", desk.at(at)))
    refused("usecase-totp-wrong", up("simulated", "alice", "bob", "000000"))
    assert uc.states(db)["scheduling"] == "draft"  # nothing of a refusal stays
    assert up("simulated", "alice", "bob", bob.at(at))() == "draft"
    left_draft = db.query(lambda c: c.execute(
        "SELECT evidence FROM use_case_signoffs ORDER BY seq DESC").fetchone()[0])  # fmt: skip
    assert json.loads(left_draft)["simulation_sha256"] == sim_sha
    at += cred.TOTP_STEP_S
    refused("usecase-checklist-incomplete", up("pilot", "alice", "bob", bob.at(at)))
    tick_all(db, "scheduling", at)
    refused(
        "usecase-totp-wrong", up("pilot", "alice", "bob", bob.at(at - cred.TOTP_STEP_S))
    )  # replay
    assert up("pilot", "alice", "bob", bob.at(at))() == "simulated"
    [_, signed] = signoff.signoffs(db, "scheduling")
    assert (signed["approved_by"], signed["approver_role"], signed["to_state"]) == (
        "bob", "platform-engineer", "pilot")  # fmt: skip
    evidence = db.query(lambda c: c.execute(
        "SELECT evidence FROM use_case_signoffs ORDER BY seq DESC").fetchone()[0])  # fmt: skip
    assert signed["evidence_sha256"] == hashlib.sha256(evidence.encode()).hexdigest()
    assert json.loads(evidence)["use_case"] == "scheduling"
    assert uc.history(db, "scheduling")[-1]["evidence"] == signed["evidence_sha256"]
    records = audit(db, "usecase.signoff")
    assert records[-1] == ("bob", "platform-engineer", "scheduling",
                           f"pilot:sha256:{signed['evidence_sha256']}", "ok")  # fmt: skip
    denied = [r[3] for r in records if r[4] == "denied"]
    assert denied == ["usecase-simulation-missing", "usecase-simulation-failed",
                      "usecase-requester-unknown", "usecase-needs-approver",
                      "usecase-approver-unknown", "usecase-approver-role", "usecase-totp-wrong",
                      "usecase-checklist-incomplete", "usecase-totp-wrong"]  # fmt: skip
    assert "looks good" not in json.dumps(audit(db, "usecase.signoff"))
    assert AuditLog(db).verify().ok


def test_production_needs_the_gate_and_the_owner_high_risk_an_officer(db: Database) -> None:
    uc.ensure_built_in(db, demo=False, at=T0 - 30 * DAY)
    clock = Clock(T0 - 20 * DAY)
    enrol(db, "alice", "contact-centre-lead", clock)
    bob = enrol(db, "bob", "platform-engineer", clock)
    olga = enrol(db, "olga", "owner", clock)
    cora = enrol(db, "cora", "compliance-officer", clock)
    at = clock.now
    simulated(db, "clinic-information", at)
    for to in ("simulated", "pilot"):
        tick_all(db, "clinic-information", at)
        promotion.promote(db, uc.Change("clinic-information", to, "alice", "bob", "ok"),
                          bob.at(at), RULES, at)  # fmt: skip
        at += cred.TOTP_STEP_S
    seed_week(db, "info", REPLIED, 10, now=T0)
    seed_week(db, "desk", TRANSFER_OK, 10, now=T0)  # containment 50%
    to_prod = uc.Change("clinic-information", "production", "alice", "olga", "a good week")
    refused("usecase-gate-failed", lambda: promotion.promote(db, to_prod, olga.at(T0), RULES, T0))
    seed_week(db, "more", REPLIED, 30, now=T0 + DAY)  # 40 of 50 contained
    later = T0 + DAY + 60
    wrong = uc.Change("clinic-information", "production", "alice", "bob", "a good week")
    refused(
        "usecase-approver-role", lambda: promotion.promote(db, wrong, bob.at(later), RULES, later)
    )
    assert promotion.promote(db, to_prod, olga.at(later), RULES, later) == "pilot"
    # high risk: a compliance officer approves; the platform engineer may not
    tick_all(db, "refills", later)
    killed = uc.Change("refills", "pilot", "alice", "bob", "pilot with officer")
    refused(
        "usecase-approver-role",
        lambda: promotion.promote(db, killed, bob.at(later + 30), RULES, later + 30),
    )
    ok = uc.Change("refills", "pilot", "alice", "cora", "pilot with officer")
    assert promotion.promote(db, ok, cora.at(later + 30), RULES, later + 30) == "killed"


def test_an_officer_review_opens_the_high_risk_gate(db: Database) -> None:
    uc.ensure_built_in(db, demo=False, at=T0 - 30 * DAY)
    clock = Clock(T0 - 2 * DAY)
    cora = enrol(db, "cora", "compliance-officer", clock)
    bob = enrol(db, "bob", "platform-engineer", clock)
    paying = [
        ("heard", None),
        ("workflow-payment", "billing-payment"),
        ("pci-pause-start", "collect"),
    ]
    seed_week(db, "pay", paying, 25, now=T0)
    review = promotion.Review("billing", "bob", bob.at(T0), "reviewed")
    refused("usecase-approver-role", lambda: promotion.review(db, review, RULES, T0))
    before = db.query(lambda c: promotion.gates.evaluate_one(c, RULES.governance, T0, "billing"))
    assert before is not None and not before.passed
    sha = promotion.review(
        db, promotion.Review("billing", "cora", cora.at(T0), "reviewed"), RULES, T0
    )
    assert sha == before.sha256()  # what the officer signed: the gate before the sign-off
    after = db.query(lambda c: promotion.gates.evaluate_one(c, RULES.governance, T0, "billing"))
    assert after is not None and after.passed


def test_a_failing_gate_pauses_a_live_use_case(db: Database) -> None:
    uc.ensure_built_in(
        db, demo=True, at=T0 - 30 * DAY
    )  # clinic-information and scheduling in pilot
    cfg = RULES.governance
    seed_week(db, "info", REPLIED, 10, now=T0)
    seed_week(db, "desk", TRANSFER_OK, 15, now=T0)  # containment 40%: pilot is still earning it
    assert demotion.enforce(db, cfg, T0) == []
    seed_week(db, "flag", REPLIED, 2, now=T0, verdicts=green("consent-honoured"))  # 2/27 flagged
    [done] = demotion.enforce(db, cfg, T0)
    assert (done.use_case, done.from_state) == ("clinic-information", "pilot")
    assert done.failing == ("compliance-flag-rate",)
    assert uc.states(db)["clinic-information"] == "paused"
    assert uc.states(db)["scheduling"] == "pilot"  # no calls of its own: never demoted
    assert audit(db, "usecase.demoted") == [
        ("gate-monitor", "system", "clinic-information",
         f"compliance-flag-rate:sha256:{done.sha256}", "ok")]  # fmt: skip
    assert "gate failed" in str(uc.history(db, "clinic-information")[-1]["comment"])
    assert demotion.enforce(db, cfg, T0) == []  # paused: nothing more to do
    assert AuditLog(db).verify().ok


def test_a_production_use_case_is_paused_when_its_containment_falls(db: Database) -> None:
    uc.ensure_built_in(db, demo=True, at=T0 - 30 * DAY)
    clock = Clock(T0 - 20 * DAY)
    enrol(db, "alice", "contact-centre-lead", clock)
    olga = enrol(db, "olga", "owner", clock)
    seed_week(db, "info", REPLIED, 30, now=T0 - 10 * DAY)  # a good week, then production
    done = uc.Change("clinic-information", "production", "alice", "olga", "a good week")
    rules = promotion.Rules(RULES.governance, accept_demo=True)
    assert promotion.promote(db, done, olga.at(T0 - 10 * DAY), rules, T0 - 10 * DAY) == "pilot"
    seed_week(db, "this", REPLIED, 13, now=T0)
    seed_week(db, "desk", TRANSFER_OK, 7, now=T0)  # 13 of 20: 65% < 70%
    [paused] = demotion.enforce(db, RULES.governance, T0)
    assert (paused.from_state, paused.failing) == ("production", ("containment",))
    assert uc.states(db)["clinic-information"] == "paused"


def test_a_containment_drop_in_24_hours_pauses_a_live_use_case(db: Database) -> None:
    uc.ensure_built_in(db, demo=True, at=T0 - 30 * DAY)  # clinic-information in pilot
    cfg = RULES.governance

    def calls(prefix: str, start: float, n: int, transferred: int) -> None:
        def write(conn: Connection) -> None:
            for i in range(n):
                events = TRANSFER_OK if i < transferred else REPLIED
                seed_call(conn, f"{prefix}{i}", start + i * 600, events, verdicts=green())

        db.execute(write)

    calls("week", T0 - 6 * DAY, 40, 0)  # all contained before the last 24 h
    calls("day", T0 - DAY + 60, 9, 1)  # 8 of 9: a drop of 11 points, but only 9 calls
    assert demotion.enforce(db, cfg, T0) == []
    drop = db.query(lambda c: gates.containment_drops(c, cfg, T0))["clinic-information"]
    assert (drop.value, drop.n, drop.passed) == (None, 9, True)
    calls("more", T0 - DAY / 2, 1, 0)  # 10 calls, 9 contained: a drop of 10 points
    drop = db.query(lambda c: gates.containment_drops(c, cfg, T0))["clinic-information"]
    assert (drop.value, drop.n, drop.passed) == (pytest.approx(0.1), 10, False)
    [paused] = demotion.enforce(db, cfg, T0)  # the week's containment (49/50) still passes
    assert paused.failing == ("containment-drop-24h",)
    assert uc.states(db)["clinic-information"] == "paused"
    loose = promotion.Rules(Governance(min_calls=20, containment_drop_max=0.1)).governance
    drop = db.query(lambda c: gates.containment_drops(c, loose, T0))["clinic-information"]
    assert drop.passed  # a drop of exactly the limit is allowed

"""Phase gates on the real store: calls attributed to use cases by their events, each
tier's criteria at their edges (>= , <, >), the rolling window and the minimum of calls,
complaints (a failed transfer, a call back within 24 h), the high tier's evaluators and
compliance officer, thresholds from the settings, and the evidence hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from appliance.config import Governance, load_settings
from appliance.governance import complaints, gates
from appliance.governance import gate_metrics as gm
from appliance.governance import use_cases as uc
from appliance.store.db import Connection, Database
from tests.integration.rollout_seed import (
    BOOKED,
    DAY,
    REPLIED,
    T0,
    TRANSFER_OK,
    green,
    seed_call,
    seed_week,
)  # fmt: skip
from tests.integration.test_schedule import open_db

pytestmark = pytest.mark.integration
CFG = Governance()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "s.db")
    uc.ensure_built_in(database, demo=False, at=T0 - 30 * DAY)
    yield database
    database.close()


def gate_of(db: Database, use_case: str, cfg: Governance = CFG, now: float = T0) -> gates.Gate:
    gate = db.query(lambda conn: gates.evaluate_one(conn, cfg, now, use_case))
    assert gate is not None
    return gate


def crit(gate: gates.Gate, name: str) -> gates.Criterion:
    return next(c for c in gate.criteria if c.name == name)


def record(kinds: list[tuple[str, str | None]]) -> gm.CallRecord:
    call = gm.CallRecord("c", T0, "")
    call.kinds = [k for k, _ in kinds]
    call.codes = [c for _, c in kinds]
    return call


def test_calls_are_attributed_by_what_their_events_record() -> None:
    assert gm.intents_of(record(BOOKED)) == gm.SCHEDULING
    assert gm.intents_of(record([("workflow-cancel", "ok")])) == {"cancel"}
    assert gm.intents_of(record([("pci-pause-start", "collect")])) == {"billing"}
    assert gm.intents_of(record(REPLIED)) == {"clinic_info"}
    assert gm.intents_of(record(TRANSFER_OK)) == {"clinic_info"}  # a reply, then the desk
    turned_away = [("replied", None), ("workflow-transfer", "use-case-disabled")]
    assert gm.intents_of(record(turned_away)) == frozenset()
    at_once = [("heard", None), ("workflow-transfer", "caller-request"), ("replied", None)]
    assert gm.intents_of(record(at_once)) == frozenset()  # no reply before the desk
    assert gm.intents_of(record([("replied", None), ("workflow-emergency", "i")])) == set()
    assert gm.COMPLIANCE_EVALUATORS == (
        "ai-disclosure-within-10s", "identity-before-phi", "consent-honoured",
        "pci-pause-held", "escalation-appropriateness",
    )  # fmt: skip


def test_calls_with_intent_events_are_attributed_by_them() -> None:
    refill = [
        ("heard", None),
        ("replied", None),
        ("intent", "refill"),
        ("workflow-transfer", "not-understood"),
        ("transfer-requested", "not-understood"),
    ]
    assert gm.intents_of(record(refill)) == {"refill"}  # no workflow action of its own
    results = [("heard", None), ("replied", None), ("intent", "test_results")]
    assert gm.intents_of(record(results)) == {"test_results"}
    asked_twice = [
        ("intent", "book"),
        ("workflow-identify", "ok"),
        ("intent", "inform"),
        ("workflow-book", "ok"),
        ("intent", "clinic_info"),
        ("replied", None),
    ]
    assert gm.intents_of(record(asked_twice)) == {"book", "inform", "clinic_info"}
    # a turn turned away (its use case not live) is not the use case's; a later one is
    away = [
        ("replied", None),
        ("intent", "refill"),
        ("workflow-transfer", "use-case-disabled"),
        ("transfer-requested", "use-case-disabled"),
    ]
    assert gm.intents_of(record(away)) == frozenset()
    then = [
        ("intent", "billing"),
        ("workflow-transfer", "high-risk-use-case"),
        ("intent", "clinic_info"),
        ("replied", None),
    ]
    assert gm.intents_of(record(then)) == {"clinic_info"}
    killed = [("intent", "book"), ("transfer-requested", "agent-killed")]
    assert gm.intents_of(record(killed)) == frozenset()
    # intent events win over the action rule (a payment turn understood as billing)
    paid = [("intent", "billing"), ("workflow-payment", "billing-payment")]
    assert gm.intents_of(record(paid)) == {"billing"}
    assert gm.intents_of(record([("intent", "inform"), ("workflow-book", "ok")])) == {"inform"}
    screened = [("intent", "clinic_info"), ("replied", None), ("pci-pause-start", "collect")]
    assert gm.intents_of(record(screened)) == {"clinic_info", "billing"}


def test_refill_and_results_calls_reach_their_gates(db: Database) -> None:
    refill = [("heard", None), ("replied", None), ("intent", "refill"), ("replied", None)]
    seed_week(db, "refill", refill, 12)
    seed_week(db, "results", [("intent", "test_results"), ("replied", None)], 3)
    seed_week(db, "old", REPLIED, 5)  # recorded before intent events: clinic information
    assert crit(gate_of(db, "refills"), "calls").n == 12
    assert crit(gate_of(db, "test-results"), "calls").n == 3
    assert crit(gate_of(db, "clinic-information"), "calls").n == 5
    assert crit(gate_of(db, "scheduling"), "calls").n == 0


def test_a_low_risk_gate_at_its_edges(db: Database) -> None:
    seed_week(db, "info", REPLIED, 68)
    seed_week(db, "desk", TRANSFER_OK, 30)
    gate = gate_of(db, "clinic-information")
    assert crit(gate, "calls").n == 98 and not crit(gate, "containment").passed  # 69.4%
    assert crit(gate, "warm-transfer-success").value == 1.0
    assert crit(gate, "compliance-flag-rate").value == 0.0
    # 2 more contained, both flagged: containment exactly 70% passes (>= 70%), and a
    # flag rate of exactly 2% fails (< 2%)
    seed_week(db, "flagged", REPLIED, 2, verdicts=green("identity-before-phi"))
    gate = gate_of(db, "clinic-information")
    assert (crit(gate, "containment").value, crit(gate, "containment").passed) == (0.7, True)
    flags = crit(gate, "compliance-flag-rate")
    assert (flags.value, flags.n, flags.passed) == (0.02, 100, False) and not gate.passed
    assert gate_of(db, "clinic-information", Governance(low_compliance_flag_max=0.021)).passed
    # one more desk call: 70/101 is under 70%
    seed_week(db, "desk2", TRANSFER_OK, 1)
    assert not crit(gate_of(db, "clinic-information"), "containment").passed
    assert gate_of(db, "scheduling").criteria[0].n == 0  # none of these is scheduling's


def test_warm_transfer_success_must_exceed_95_percent(db: Database) -> None:
    failed = [("replied", None), ("transfer-requested", "caller-request"),
              ("transfer-failed", "busy")]  # fmt: skip
    seed_week(db, "ok", TRANSFER_OK, 19)
    seed_week(db, "failed", failed, 1)
    seed_week(db, "info", REPLIED, 80)
    transfer = crit(gate_of(db, "clinic-information"), "warm-transfer-success")
    assert (transfer.value, transfer.n, transfer.passed) == (0.95, 20, False)  # > 95%


def test_the_window_and_the_minimum_of_calls(db: Database) -> None:
    seed_week(db, "info", REPLIED, 29)

    def old_and_open(conn: Connection) -> None:
        seed_call(conn, "old", T0 - 7 * DAY - 60, REPLIED, verdicts=green())
        seed_call(conn, "open", T0 - 60, REPLIED, ended=False)

    db.execute(old_and_open)
    gate = gate_of(db, "clinic-information")
    calls = crit(gate, "calls")
    assert (calls.n, calls.passed, calls.note) == (29, False, "too few") and not gate.passed
    assert crit(gate, "containment").passed  # only the minimum fails
    assert gate_of(db, "clinic-information", Governance(min_calls=29)).passed
    assert crit(gate_of(db, "clinic-information", now=T0 + DAY), "calls").n < 29  # it rolls


def test_a_medium_gate_counts_complaints(db: Database) -> None:
    escalated = [*BOOKED[:2], ("workflow-transfer", "not-understood"),
                 ("transfer-requested", "not-understood"), ("transfer-ok", "x")]  # fmt: skip

    def write(c: Connection) -> None:
        for i in range(60):
            seed_call(c, f"b{i}", T0 - 5 * DAY + i * 600, BOOKED, verdicts=green())
        for i in range(40):  # escalated; one of them is called back within 24 h
            seed_call(c, f"e{i}", T0 - 4 * DAY + i * 600, escalated, caller=f"k{i}")
        seed_call(c, "back", T0 - 3.5 * DAY, REPLIED, caller="k0")
        seed_call(c, "late", T0 - 1 * DAY, REPLIED, caller="k1")

    db.execute(write)
    gate = gate_of(db, "scheduling")
    assert (crit(gate, "containment").value, crit(gate, "containment").n) == (0.6, 100)
    complaint = crit(gate, "escalation-to-complaint")
    assert (complaint.value, complaint.n, complaint.passed) == (0.025, 40, True)
    assert gate.passed
    strict = Governance(medium_complaint_max=0.025, complaint_callback_h=80.0)
    complaint = crit(gate_of(db, "scheduling", strict), "escalation-to-complaint")
    assert (complaint.value, complaint.passed) == (0.05, False)  # k1's call back counts now


def test_a_high_risk_gate_needs_green_evaluators_and_an_officer(db: Database) -> None:
    paying = [("heard", None), ("workflow-payment", "billing-payment"),
              ("pci-pause-start", "collect"), ("pci-pause-end", "ok:16")]  # fmt: skip
    seed_week(db, "pay", paying, 40)
    gate = gate_of(db, "billing")
    evaluators = [c for c in gate.criteria if c.name.startswith("evaluator:")]
    assert len(evaluators) == 5 and all(c.passed and c.n == 40 for c in evaluators)
    officer = crit(gate, "compliance-officer-sign-off")
    assert not officer.passed and not gate.passed
    seed_week(db, "pay-bad", paying, 1, verdicts=green("pci-pause-held"))
    assert not crit(gate_of(db, "billing"), "evaluator:pci-pause-held").passed


def test_thresholds_come_from_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "a.toml"
    config.write_text("[governance]\nmin_calls = 5\nlow_containment_min = 0.9\nwindow_days = 3\n")
    cfg = load_settings(config).governance
    assert (cfg.min_calls, cfg.low_containment_min, cfg.window_days) == (5, 0.9, 3)
    assert cfg.medium_complaint_max == 0.05 and cfg.low_warm_transfer_min == 0.95
    config.write_text("[governance]\nlow_containment_min = 1.5\n")
    with pytest.raises(Exception, match="config-invalid"):
        load_settings(config)


def test_the_evidence_is_canonical_and_hashed(db: Database) -> None:
    seed_week(db, "info", REPLIED, 40)
    gate = gate_of(db, "clinic-information")
    assert gate.sha256() == hashlib.sha256(gate.evidence().encode()).hexdigest()
    body = json.loads(gate.evidence())
    assert body["window"] == [T0 - 7 * DAY, T0] and body["state"] == "draft"
    assert {c["name"] for c in body["criteria"]} >= {"calls", "containment"}
    assert gate_of(db, "clinic-information").sha256() == gate.sha256()  # same store, same hash


def test_a_flagged_escalated_call_is_a_complaint_too(db: Database) -> None:
    """complaint = flagged OR proxy: a flag on an escalated call counts (once, also when
    the proxy already counts it); a flag on a call not escalated is not in the ratio."""
    escalated = [*BOOKED[:2], ("workflow-transfer", "not-understood"),
                 ("transfer-requested", "not-understood"), ("transfer-ok", "x")]  # fmt: skip
    by = ("rita", "quality-reviewer", "console")

    def write(c: Connection) -> None:
        for i in range(60):
            seed_call(c, f"b{i}", T0 - 5 * DAY + i * 600, BOOKED, verdicts=green())
        for i in range(40):
            seed_call(c, f"e{i}", T0 - 4 * DAY + i * 600, escalated, caller=f"k{i}")
        seed_call(c, "back", T0 - 3.5 * DAY, REPLIED, caller="k0")  # e0: the proxy's

    db.execute(write)
    before = crit(gate_of(db, "scheduling"), "escalation-to-complaint")
    assert (before.value, before.n) == (0.025, 40)
    for call_id in ("e5", "e0", "b3"):
        db.execute(complaints.flag_call, call_id, "caller-complained", by, (None, 100), T0)
    after = crit(gate_of(db, "scheduling"), "escalation-to-complaint")
    assert (after.value, after.n) == (0.05, 40)  # e0 (proxy and flag) and e5 (flag)

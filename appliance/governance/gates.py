"""Phase gates: whether each use case has earned its next state, computed from the store
over a rolling window (`[governance]` settings, docs/governance.md).

Every gate needs `min_calls` calls attributed to the use case in the window
(appliance/governance/gate_metrics.py). Then, by risk tier:
- low: containment >= 70%, compliance flag rate < 2%, transfers reaching a human > 95%;
- medium: containment >= 60%, escalation-to-complaint conversion < 5%;
- high: every compliance evaluator green (scored, no fail) and a compliance officer's
  review sign-off recorded since the use case entered its state.
A rate whose denominator is empty passes where nothing could go wrong (no transfer, no
escalation) and fails where evidence is missing (no call, no compliance score).

The evidence of a gate (its criteria, values, n and verdicts, the window and the state)
is canonical JSON; its sha256 is what a sign-off records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from appliance.config import Governance
from appliance.governance import gate_metrics as gm
from appliance.governance.use_cases import UseCase, load
from appliance.store.db import Connection

DAY_S = 86400.0
DROP = "containment-drop-24h"
Attributed = tuple[gm.CallRecord, frozenset[str]]
COMPLIANCE_OFFICER = "compliance-officer"  # appliance.console.roles.Role.COMPLIANCE_OFFICER


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    value: float | None  # None: nothing to measure
    n: int  # the denominator (calls, transfers, ...)
    op: str  # ">=", ">", "<"
    threshold: float
    passed: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Gate:
    use_case: str
    tier: str
    state: str
    since: float
    until: float
    criteria: tuple[Criterion, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)

    def evidence(self) -> str:
        """Canonical JSON of what the gate saw (no caller data: counts and verdicts)."""
        body = {
            "use_case": self.use_case, "tier": self.tier, "state": self.state,
            "window": [self.since, self.until], "passed": self.passed,
            "criteria": [asdict(c) for c in self.criteria],
        }  # fmt: skip
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.evidence().encode()).hexdigest()

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = json.loads(self.evidence())
        body["sha256"] = self.sha256()
        return body


def _compare(value: float, op: str, threshold: float) -> bool:
    if op == ">=":
        return value >= threshold
    if op == ">":
        return value > threshold
    if op == "<=":
        return value <= threshold
    return value < threshold


def rate(name: str, hits: int, n: int, op: str, threshold: float, empty_passes: bool) -> Criterion:
    if n == 0:
        note = "nothing to measure" if empty_passes else "no evidence"
        return Criterion(name, None, 0, op, threshold, empty_passes, note)
    value = hits / n
    return Criterion(name, value, n, op, threshold, _compare(value, op, threshold))


def tier_criteria(tier: str, c: gm.Counts, cfg: Governance) -> list[Criterion]:
    if tier == "low":
        return [
            rate("containment", c.contained, c.calls, ">=", cfg.low_containment_min, False),
            rate("compliance-flag-rate", c.flagged, c.scored, "<",
                 cfg.low_compliance_flag_max, False),
            rate("warm-transfer-success", c.reached, c.transfers, ">",
                 cfg.low_warm_transfer_min, True),
        ]  # fmt: skip
    if tier == "medium":
        return [
            rate("containment", c.contained, c.calls, ">=", cfg.medium_containment_min, False),
            rate("escalation-to-complaint", c.complaints, c.escalated, "<",
                 cfg.medium_complaint_max, True),
        ]  # fmt: skip
    return [
        Criterion(
            f"evaluator:{e}",
            float(c.evaluator_fails[e]),
            c.evaluator_scored[e],
            "<",
            1.0,
            c.evaluator_scored[e] > 0 and c.evaluator_fails[e] == 0,
            "" if c.evaluator_scored[e] else "no evidence",
        )
        for e in gm.COMPLIANCE_EVALUATORS
    ]


def _attributed(conn: Connection, since: float, until: float) -> list[Attributed]:
    return [(call, gm.intents_of(call)) for call in gm.read_window(conn, since, until)]


def _of(case: UseCase, attributed: list[Attributed]) -> list[gm.CallRecord]:
    return [call for call, intents in attributed if intents & set(case.intents)]


def evaluate(conn: Connection, cfg: Governance, now: float) -> list[Gate]:
    """The gate of every use case (not the agent switch), by id."""
    since = now - cfg.window_days * DAY_S
    attributed = _attributed(conn, since, now)
    callers = gm.callers_since(conn, since)
    gates = []
    for case in load(conn):
        mine = _of(case, attributed)
        counts = gm.count(mine, callers, cfg.complaint_callback_h * 3600.0)
        gates.append(_gate(conn, case, counts, cfg, since, now))
    return gates


def containment_drops(conn: Connection, cfg: Governance, now: float) -> dict[str, Criterion]:
    """Per use case: how far containment of the last 24 h fell below the rest of the
    window (percentage points as a share); passes up to `containment_drop_max`, and when
    the last 24 h have fewer than `drop_min_calls` calls or the rest of the window none."""
    since, recent = now - cfg.window_days * DAY_S, now - DAY_S
    before, last = _attributed(conn, since, recent), _attributed(conn, recent, now)
    found: dict[str, Criterion] = {}
    for case in load(conn):
        then, lately = _of(case, before), _of(case, last)
        limit = cfg.containment_drop_max
        if len(lately) < cfg.drop_min_calls or not then:
            crit = Criterion(DROP, None, len(lately), "<=", limit, True, "too few to compare")
        else:
            drop = _contained(then) - _contained(lately)
            crit = Criterion(DROP, drop, len(lately), "<=", limit, drop <= limit)
        found[case.id] = crit
    return found


def _contained(calls: list[gm.CallRecord]) -> float:
    return sum(1 for c in calls if not c.transferred) / len(calls)


def evaluate_one(conn: Connection, cfg: Governance, now: float, use_case: str) -> Gate | None:
    return next((g for g in evaluate(conn, cfg, now) if g.use_case == use_case), None)


def _gate(
    conn: Connection, case: UseCase, c: gm.Counts, cfg: Governance, since: float, now: float
) -> Gate:
    criteria = [
        Criterion("calls", float(c.calls), c.calls, ">=", float(cfg.min_calls),
                  c.calls >= cfg.min_calls, "" if c.calls >= cfg.min_calls else "too few"),
        *tier_criteria(case.tier, c, cfg),
    ]  # fmt: skip
    if case.tier == "high":
        criteria.append(_officer_sign_off(conn, case.id))
    return Gate(case.id, case.tier, case.state, since, now, tuple(criteria))


def _officer_sign_off(conn: Connection, use_case: str) -> Criterion:
    """A compliance officer's sign-off recorded since the use case entered its state."""
    row = conn.execute(
        "SELECT COUNT(*) FROM use_case_signoffs s JOIN use_cases u ON u.id = s.use_case"
        " WHERE s.use_case = ? AND s.approver_role = ? AND s.to_state IS NULL"
        " AND s.at >= u.changed_at",
        (use_case, COMPLIANCE_OFFICER),
    ).fetchone()
    signed = int(row[0]) if row else 0
    return Criterion(
        "compliance-officer-sign-off", float(signed), signed, ">=", 1.0, signed >= 1,
        "" if signed else "none since the last change",
    )  # fmt: skip

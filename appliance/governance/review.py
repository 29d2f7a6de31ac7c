"""The monthly rollout review (`appliance governance report --month YYYY-MM`): per use case,
what happened in one calendar month (UTC): its state changes, sign-offs, phase gate
results, demotions, kill-switch uses and simulations, plus the agent's own kill switch.

Counts and codes only: states, roles, criterion names, verdicts, reason codes; never a
comment, an evidence link, a person's name or anything a caller said. Read from the
store's history, sign-off and audit tables and, for the gates, the call events
(appliance/governance/gates.py, evaluated at the end of each week of the month and at
the month's end, each over its rolling window).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from appliance.config import Governance
from appliance.errors import GovernanceError
from appliance.governance import gate_metrics as gm
from appliance.governance import gates
from appliance.governance.use_cases import AGENT, load
from appliance.store.audit import utc_iso
from appliance.store.db import Connection

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
WEEK_S = 7 * gates.DAY_S


def month_bounds(month: str) -> tuple[float, float]:
    """[start, end) of a YYYY-MM month in UTC, as UNIX seconds."""
    found = _MONTH.fullmatch(month)
    if found is None:
        raise GovernanceError("review-month-invalid", "the month is YYYY-MM")
    year, number = int(found.group(1)), int(found.group(2))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def checkpoints(start: float, end: float) -> list[float]:
    """The end of each whole week of the month, then the month's end."""
    points = [start + n * WEEK_S for n in range(1, 5) if start + n * WEEK_S < end]
    return [*points, end]


def monthly(conn: Connection, cfg: Governance, month: str) -> dict[str, Any]:
    """The review of `month`: per use case and for the agent switch."""
    start, end = month_bounds(month)
    audit = _audit_counts(conn, start, end)
    changes = _changes(conn, start, end)
    signed = _signoffs(conn, start, end)
    gate_points = [
        {g.use_case: g for g in gates.evaluate(conn, cfg, at)} for at in checkpoints(start, end)
    ]
    calls = _calls(conn, start, end)
    cases: dict[str, Any] = {}
    for case in load(conn):
        results = [points[case.id] for points in gate_points]
        cases[case.id] = {
            "tier": case.tier,
            "state_now": case.state,
            "state_changes": dict(sorted(changes.get(case.id, Counter()).items())),
            "signoffs": dict(sorted(signed.get(case.id, Counter()).items())),
            "gates": [_gate_result(g) for g in results],
            "calls": calls.get(case.id, {"calls": 0, "contained": 0, "escalated": 0}),
            **{k: dict(sorted(v.get(case.id, Counter()).items())) for k, v in audit.items()},
        }
    agent = {
        "state_changes": dict(sorted(changes.get(AGENT, Counter()).items())),
        "signoffs": dict(sorted(signed.get(AGENT, Counter()).items())),
        "kills": sum(audit["kills"].get(AGENT, Counter()).values()),
    }
    return {"month": month, "from": utc_iso(start), "until": utc_iso(end),
            "use_cases": cases, "agent": agent}  # fmt: skip


def _gate_result(gate: gates.Gate) -> dict[str, Any]:
    failing = [c.name for c in gate.criteria if not c.passed]
    calls = next((c.n for c in gate.criteria if c.name == "calls"), 0)
    return {"at": utc_iso(gate.until), "state": gate.state, "passed": gate.passed,
            "calls": calls, "failing": failing, "sha256": gate.sha256()}  # fmt: skip


def _changes(conn: Connection, start: float, end: float) -> dict[str, Counter[str]]:
    """Use case -> "from->to" -> how many times (the month's history rows)."""
    found: dict[str, Counter[str]] = {}
    for use_case, from_state, to_state in conn.execute(
        "SELECT use_case, from_state, to_state FROM use_case_history WHERE at >= ? AND at < ?",
        (start, end),
    ):
        key = f"{from_state or 'new'}->{to_state}"
        found.setdefault(str(use_case), Counter())[key] += 1
    return found


def _signoffs(conn: Connection, start: float, end: float) -> dict[str, Counter[str]]:
    """Use case -> "<to state or review>:<approver role>" -> how many."""
    found: dict[str, Counter[str]] = {}
    for use_case, to_state, role in conn.execute(
        "SELECT use_case, to_state, approver_role FROM use_case_signoffs WHERE at >= ? AND at < ?",
        (start, end),
    ):
        found.setdefault(str(use_case), Counter())[f"{to_state or 'review'}:{role}"] += 1
    return found


_AUDITED = {  # three: the query below names three
    "usecase.demoted": "demotions",  # reason: the failing criteria
    "usecase.killed": "kills",  # reason: killed
    "usecase.simulation": "simulations",  # outcome: ok | failed
}


Counts = dict[str, dict[str, Counter[str]]]


def _audit_counts(conn: Connection, start: float, end: float) -> Counts:
    """Per kind (demotions, kills, simulations): use case -> code -> how many."""
    found: Counts = {kind: {} for kind in _AUDITED.values()}
    rows = conn.execute(
        "SELECT action, object_id, outcome, reason_code FROM audit WHERE action IN (?, ?, ?)"
        " AND at >= ? AND at < ?",
        (*_AUDITED, utc_iso(start), utc_iso(end)),
    )
    for action, object_id, outcome, reason in rows:
        kind = _AUDITED[str(action)]
        if kind == "demotions":
            code = str(reason or "").split(":")[0]  # the criteria, not the hash
        elif kind == "simulations":
            code = str(outcome)
        else:
            code = str(reason or "killed")
        found[kind].setdefault(str(object_id), Counter())[code] += 1
    return found


def _calls(conn: Connection, start: float, end: float) -> dict[str, dict[str, int]]:
    """Use case -> the month's attributed calls, contained and escalated."""
    attributed = [(c, gm.intents_of(c)) for c in gm.read_window(conn, start, end)]
    found: dict[str, dict[str, int]] = {}
    for case in load(conn):
        mine = [c for c, intents in attributed if intents & set(case.intents)]
        found[case.id] = {
            "calls": len(mine),
            "contained": sum(1 for c in mine if not c.transferred),
            "escalated": sum(1 for c in mine if c.has("transfer-requested")),
        }
    return found

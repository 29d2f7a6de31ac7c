"""The periodic reviews, from the store: the monthly platform report and the quarterly
compliance report (`appliance governance platform --month YYYY-MM`, `appliance governance
compliance --quarter YYYY-Qn`; JSON or markdown). Counts, codes, percentiles and staff
user names only: never a caller's words, number, name or a patient id.

Platform: turn latency (the turn gap: end of caller speech to the agent's first audio)
P50/P90/P99; capacity (peak concurrent calls against the configured slots, workers x 4);
SLA (answer rate: calls the session answered of those offered, the calls in the store plus
the INVITEs the SIP edge refused for want of service: no worker up or answering, every
worker busy or draining, drain, the new-call rate (appliance/governance/edge_refusals.py;
every INVITE passes the edge, so each refused call counts once there); share of turns
within the 3.5 s P90 and 5 s P99 objectives); incidents (calls left open by a crash and
marked interrupted, stage failures by stage, the edge's refusals by reason, policy ones
and `passed-on` (a full worker's refusal the edge passed on to the next) too, the
refusals the workers themselves saw by reason (appliance/governance/worker_refusals.py:
not all of them, see there); alerts fired are Alertmanager's, not the store's).
Compliance: outbound consents given and revoked, opt-outs (DNC entries by list), PCI
pauses, the access review (each console user's role, status and last sign-in) and the
use case sign-offs of the quarter.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from appliance.errors import GovernanceError
from appliance.governance.edge_refusals import SERVICE_REASONS, refused_between
from appliance.governance.review import month_bounds
from appliance.store.db import Connection

CALLS_PER_WORKER = 4  # pjsua2's compile-time PJSUA_MAX_CALLS of the wheel (edge/kamailio.py)
P90_S, P99_S = 3.5, 5.0  # the programme's turn-latency objectives (docs/quality.md)
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


def quarter_bounds(quarter: str) -> tuple[float, float]:
    """[start, end) of a YYYY-Qn quarter in UTC; GovernanceError review-quarter-invalid."""
    found = _QUARTER.fullmatch(quarter)
    if found is None:
        raise GovernanceError("review-quarter-invalid", "the quarter is YYYY-Qn (n: 1 to 4)")
    year, first = int(found.group(1)), 3 * int(found.group(2)) - 2
    start = datetime(year, first, 1, tzinfo=UTC)
    end = datetime(year + first // 10, (first + 2) % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile (None: no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def platform(conn: Connection, month: str, workers: int) -> dict[str, Any]:
    """The monthly platform report of `month` (YYYY-MM, UTC)."""
    start, end = month_bounds(month)
    gaps = _turn_gaps(conn, start, end)
    calls = conn.execute(
        "SELECT count(*) FROM calls WHERE started_at >= ? AND started_at < ?", (start, end)
    ).fetchone()[0]
    answered = _calls_with(conn, "answered", start, end)
    by_reason = refused_between(conn, _day(start), _day(end))
    refused = sum(n for r, n in by_reason.items() if r in SERVICE_REASONS)
    offered = int(calls) + refused  # each refused call once: the edge saw every one
    worker = {r: n for r, n in by_reason.items() if r.startswith("worker-")}
    edge = {r: n for r, n in by_reason.items() if r not in worker}
    within = {str(s): sum(1 for g in gaps if g <= s) for s in (P90_S, P99_S)}
    return {
        "report": "platform", "month": month, "from": _iso(start), "until": _iso(end),
        "latency": {"turns": len(gaps), **{f"p{p}_s": percentile(gaps, p) for p in (50, 90, 99)}},
        "capacity": {"peak_concurrent_calls": _peak(conn, start, end),
                     "slots": workers * CALLS_PER_WORKER},
        "sla": {"calls": int(calls), "answered": answered,
                "refused_at_edge": refused,
                "offered": offered, "answer_rate": answered / offered if offered else None,
                "turns_within_s": within,
                "p90_objective_met": _share(within[str(P90_S)], len(gaps), 0.90),
                "p99_objective_met": _share(within[str(P99_S)], len(gaps), 0.99)},
        "incidents": {"interrupted_calls": _interrupted(conn, start, end),
                      "edge_refusals": edge, "worker_refusals": worker,
                      "stage_failures": _stage_failures(conn, start, end),
                      "alerts_fired": "alertmanager"},
    }  # fmt: skip


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def _share(n: int, total: int, objective: float) -> bool | None:
    return None if total == 0 else n / total >= objective


def _turn_gaps(conn: Connection, start: float, end: float) -> list[float]:
    sql = "SELECT timings FROM turns WHERE speaker = 'agent' AND started_at >= ? AND started_at < ?"
    gaps = []
    for (timings,) in conn.execute(sql, (start, end)):
        value = json.loads(str(timings)).get("first_audio_out")
        if isinstance(value, int | float):
            gaps.append(float(value))
    return gaps


def _calls_with(conn: Connection, kind: str, start: float, end: float) -> int:
    sql = (
        "SELECT count(DISTINCT c.call_id) FROM calls c JOIN call_events e ON e.call_id ="
        " c.call_id WHERE e.kind = ? AND c.started_at >= ? AND c.started_at < ?"
    )
    return int(conn.execute(sql, (kind, start, end)).fetchone()[0])


def _peak(conn: Connection, start: float, end: float) -> int:
    """The most calls up at once during [start, end)."""
    sql = (
        "SELECT started_at, coalesce(ended_at, started_at) FROM calls"
        " WHERE started_at < ? AND coalesce(ended_at, started_at) >= ?"
    )
    edges: list[tuple[float, int]] = []
    for began, ended in conn.execute(sql, (end, start)):
        edges += [(float(began), 1), (float(ended), -1)]
    peak = up = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start
        up += step
        peak = max(peak, up)
    return peak


def _interrupted(conn: Connection, start: float, end: float) -> int:
    sql = (
        "SELECT count(*) FROM calls WHERE outcome = 'interrupted'"
        " AND started_at >= ? AND started_at < ?"
    )
    return int(conn.execute(sql, (start, end)).fetchone()[0])


def _stage_failures(conn: Connection, start: float, end: float) -> dict[str, int]:
    sql = "SELECT stage, code FROM call_events WHERE kind = 'stage-failed' AND at >= ? AND at < ?"
    found = Counter(f"{s}:{c}" for s, c in conn.execute(sql, (start, end)))
    return dict(sorted(found.items()))


def compliance(conn: Connection, quarter: str) -> dict[str, Any]:
    """The quarterly compliance report of `quarter` (YYYY-Qn, UTC)."""
    start, end = quarter_bounds(quarter)
    args = (start, end)
    consents = {
        "given": _count(conn, "outbound_consents WHERE given_at >= ? AND given_at < ?", args),
        "revoked": _count(conn, "outbound_consents WHERE revoked_at >= ? AND revoked_at < ?", args),
    }
    sql = (
        "SELECT list, count(*) FROM outbound_dnc WHERE added_at >= ? AND added_at < ? GROUP BY list"
    )
    opt_outs = {str(k): int(n) for k, n in conn.execute(sql, args)}
    pauses = _count(conn, "call_events WHERE kind = 'pci-pause-start' AND at >= ? AND at < ?", args)
    return {
        "report": "compliance", "quarter": quarter, "from": _iso(start), "until": _iso(end),
        "consents": consents, "opt_outs": dict(sorted(opt_outs.items())),
        "pci_pauses": pauses, "access_review": _access(conn),
        "signoffs": _signoffs(conn, start, end),
    }  # fmt: skip


def _count(conn: Connection, where: str, args: tuple[float, float]) -> int:
    sql = f"SELECT count(*) FROM {where}"  # noqa: S608 (`where`: this module's literals)
    return int(conn.execute(sql, args).fetchone()[0])


def _access(conn: Connection) -> list[dict[str, Any]]:
    """Each console user: name, role, status and the last audited sign-in (UTC)."""
    sql = (
        "SELECT u.name, u.role, u.status, (SELECT max(a.at) FROM audit a WHERE a.action ="
        " 'console.signin' AND a.outcome = 'ok' AND a.actor = u.name) FROM console_users u"
        " ORDER BY u.name"
    )
    keys = ("user", "role", "status", "last_sign_in")
    return [dict(zip(keys, row, strict=True)) for row in conn.execute(sql)]


def _signoffs(conn: Connection, start: float, end: float) -> list[dict[str, Any]]:
    sql = (
        "SELECT use_case, at, state, to_state, approved_by, approver_role FROM use_case_signoffs"
        " WHERE at >= ? AND at < ? ORDER BY seq"
    )
    keys = ("use_case", "at", "state", "to_state", "approved_by", "approver_role")
    rows = [dict(zip(keys, row, strict=True)) for row in conn.execute(sql, (start, end))]
    return [{**r, "at": _iso(float(r["at"]))} for r in rows]


def markdown(body: dict[str, Any]) -> str:
    """Either report as markdown: a heading per section, one line per value."""
    period = body.get("month") or body.get("quarter")
    lines = [f"# {body['report'].capitalize()} report {period}", "",
             f"UTC {body['from']} .. {body['until']}"]  # fmt: skip
    for section, value in body.items():
        if section in ("report", "month", "quarter", "from", "until"):
            continue
        lines += ["", f"## {section.replace('_', ' ').capitalize()}", ""]
        rows = value if isinstance(value, list) else [value]
        for row in rows:
            if isinstance(row, dict):
                lines.append("- " + ", ".join(f"{k}: {_cell(v)}" for k, v in row.items()))
            else:
                lines.append(f"- {_cell(row)}")
        if not rows:
            lines.append("- none")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_cell(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)

"""The governance digest of a time window (`appliance quality digest --since 7d`).

Everything in it is a count, a share, a duration or a code: the calls that ended in the
window, their KPIs (appliance/quality/kpis.py) in all and per day, the evaluators'
verdicts (the latest row of each call and evaluator), the commonest fail reasons and
escalation reasons, and the reply delay percentiles. No call id, no caller words, no
agent words (turn text is never selected), no phone number or name.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from appliance.config_quality import QualityCost
from appliance.quality import rules_proxy
from appliance.quality.evaluators import DEFAULT_EVALUATORS
from appliance.quality.kpi_more import MoreKpis, Slice, compute_more
from appliance.quality.kpis import (
    COMPLIANCE_EVALUATORS,
    LATEST,
    WINDOW,
    Kpis,
    compute_kpis,
    escalation_counts,
)
from appliance.quality.rules_compliance import PAYMENT_REASON
from appliance.quality.schema import VERDICTS
from appliance.store.db import Connection

DAY_S = 86400.0
TOP = 10  # reasons listed per section
OTHER = "other"
_CODE = re.compile(r"^[a-z][A-Za-z0-9_:,.-]{0,63}$")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def code(value: object) -> str:
    """A stored code as the digest shows it; anything that does not look like a code
    (a stray value) is "other"."""
    text = str(value or "")
    return text if _CODE.match(text) else OTHER


def reason_code(value: object) -> str:
    """A reason code with its numbers as N ("gaps:3" -> "gaps:N"), so that reasons group."""
    return code(_NUMBER.sub("N", str(value or "")))


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_digest(
    conn: Connection, since: float, until: float, cost: QualityCost | None = None
) -> dict[str, Any]:
    """The digest of the calls that ended in [since, until); run in a read transaction."""
    kpis = compute_kpis(conn, since, until)
    reasons: Counter[str] = Counter()
    for reason, n in escalation_counts(conn, since, until).items():
        reasons[code(reason)] += n
    more = compute_more(conn, since, until, cost, dict(reasons))
    return {
        "window": {"since": iso(since), "until": iso(until), "days": (until - since) / DAY_S},
        "kpis": kpi_dict(kpis),
        **more_dict(more, cost),
        "days": [kpi_dict(k) for k in _per_day(conn, since, until)],
        "verdicts": _verdicts(conn, since, until),
        "top_fail_reasons": _fail_reasons(conn, since, until),
        "escalation_reasons": _escalation_reasons(conn, since, until),
        "transfer_failures": _transfer_failures(conn, since, until),
        "reply_delay_s": _reply_delays(conn, since, until),
        "proxy_signals": proxy_totals(conn, since, until),
    }


def kpi_dict(k: Kpis) -> dict[str, Any]:
    return {
        "since": iso(k.since),
        "until": iso(k.until),
        "calls": k.calls,
        "contained": k.contained,
        "containment_rate": k.containment_rate,
        "escalated": k.calls - k.contained,
        "scored_calls": k.scored,
        "compliance_flagged": k.flagged,
        "compliance_flag_rate": k.compliance_flag_rate,
        "transfers": k.transfers,
        "transfers_failed": k.transfers_failed,
        "transfer_failure_rate": k.transfer_failure_rate,
    }


def more_dict(more: MoreKpis, cost: QualityCost | None) -> dict[str, Any]:
    """Deflection, handling time, escalation shares, cost, per use case and per tier."""
    return {
        "deflection": {
            "in_scope": more.in_scope,
            "deflected": more.deflected,
            "deflection_rate": more.deflection_rate,
            "average_handling_s": _round(more.average_handling_s),
        },
        "escalation_rates": {r: more.escalation_rate(r) for r in sorted(more.escalated)},
        "cost": {
            "currency": cost.currency if cost is not None else None,
            "host_cost": _round(more.host_cost),
            "per_resolved_call": _round(more.cost_per_resolved_call),
        },
        "use_cases": [
            {"use_case": k, "tier": more.case_tiers[k], **slice_dict(s)}
            for k, s in more.use_cases.items()
        ],
        "tiers": [{"tier": k, **slice_dict(s)} for k, s in more.tiers.items()],
    }


def slice_dict(s: Slice) -> dict[str, Any]:
    return {
        "calls": s.calls,
        "deflected": s.deflected,
        "deflection_rate": s.deflection_rate,
        "average_handling_s": _round(s.average_handling_s),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _per_day(conn: Connection, since: float, until: float) -> list[Kpis]:
    """The window in days counted back from `until` (the oldest may be shorter)."""
    days, end = [], until
    while end > since:
        start = max(since, end - DAY_S)
        days.append(compute_kpis(conn, start, end))
        end = start
    return days[::-1]


def _params(since: float, until: float) -> dict[str, object]:
    return {"since": since, "until": until, "payment": PAYMENT_REASON}


def _verdicts(conn: Connection, since: float, until: float) -> dict[str, dict[str, int]]:
    """Per evaluator (the default ones first): calls per verdict, latest rows only."""
    rows = conn.execute(
        "SELECT s.evaluator, s.verdict, count(*) FROM calls c"  # noqa: S608
        f" CROSS JOIN call_scores s ON s.call_id = c.call_id WHERE {WINDOW} AND {LATEST}"
        " GROUP BY s.evaluator, s.verdict",
        _params(since, until),
    ).fetchall()
    names = [e.name for e in DEFAULT_EVALUATORS]
    names += sorted({code(r[0]) for r in rows} - set(names))
    table = {name: dict.fromkeys(VERDICTS, 0) for name in names}
    for evaluator, verdict, count in rows:
        if verdict in VERDICTS:
            table[code(evaluator)][verdict] += int(count)
    return table


def _fail_reasons(conn: Connection, since: float, until: float) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT s.evaluator, s.reason FROM calls c"  # noqa: S608
        " CROSS JOIN call_scores s ON s.call_id = c.call_id"
        f" WHERE {WINDOW} AND {LATEST} AND s.verdict = 'fail'",
        _params(since, until),
    ).fetchall()
    counts = Counter((code(r[0]), reason_code(r[1])) for r in rows)
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    compliance = set(COMPLIANCE_EVALUATORS)
    return [
        {"evaluator": e, "reason": r, "calls": n, "compliance": e in compliance}
        for (e, r), n in top
    ]


def proxy_totals(conn: Connection, since: float, until: float) -> dict[str, int]:
    """The proxy signals (appliance/quality/rules_proxy.py) summed over the calls' latest
    rows: calls scored, calls unsure, and each signal's total."""
    rows = conn.execute(
        "SELECT s.verdict, s.reason FROM calls c"  # noqa: S608
        " CROSS JOIN call_scores s ON s.call_id = c.call_id"
        f" WHERE {WINDOW} AND {LATEST} AND s.evaluator = :proxy",
        {**_params(since, until), "proxy": rules_proxy.NAME},
    ).fetchall()
    totals = {"calls": 0, "unsure": 0, **dict.fromkeys(rules_proxy.SIGNALS, 0)}
    for verdict, reason in rows:
        counts = rules_proxy.parse_counts(str(reason))
        if counts is None:  # n/a (no caller turns) or an evaluator error
            continue
        totals["calls"] += 1
        totals["unsure"] += verdict == "unsure"
        for key, n in counts.items():  # low-words: only where [stt] counted words
            totals[key] = totals.get(key, 0) + n
    return totals


def _escalation_reasons(conn: Connection, since: float, until: float) -> list[dict[str, Any]]:
    """Calls per escalation reason (appliance/quality/kpis.py), the commonest first."""
    counts: Counter[str] = Counter()
    for reason, n in escalation_counts(conn, since, until).items():
        counts[code(reason)] += n
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return [{"reason": reason, "calls": n} for reason, n in top]


def _transfer_failures(conn: Connection, since: float, until: float) -> dict[str, int]:
    rows = conn.execute(
        "SELECT e.code FROM calls c CROSS JOIN call_events e ON e.call_id = c.call_id"  # noqa: S608
        f" WHERE {WINDOW} AND e.kind = 'transfer-failed'",
        _params(since, until),
    ).fetchall()
    return dict(sorted(Counter(code(r[0] or "unknown") for r in rows).items()))


def _reply_delays(conn: Connection, since: float, until: float) -> dict[str, Any]:
    """Seconds from the end of the caller's speech to the agent's first audio (the
    `turn_gap` stage: a filler counts), for each agent turn that follows a caller turn."""
    rows = conn.execute(
        "SELECT t.call_id, t.speaker, json_extract(t.timings, '$.first_audio_out')"  # noqa: S608
        f" FROM calls c CROSS JOIN turns t ON t.call_id = c.call_id WHERE {WINDOW}"
        " ORDER BY t.call_id, t.seq",
        _params(since, until),
    ).fetchall()
    delays, previous = [], ("", "")
    for call_id, speaker, out in rows:
        if speaker == "agent" and previous == (call_id, "caller") and out is not None:
            delays.append(float(out))
        previous = (call_id, speaker)
    return {"n": len(delays), **{f"p{q}": percentile(delays, q / 100) for q in (50, 90, 99)}}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values), rounded to ms."""
    if not values:
        return None
    ranked = sorted(values)
    return round(ranked[max(0, math.ceil(q * len(ranked)) - 1)], 3)

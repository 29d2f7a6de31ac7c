"""Deflection, handling time, escalation shares, cost per resolved call and the KPIs per
use case and risk tier of the calls that ended in [since, until) (docs/quality.md,
"KPIs"). Counts, seconds and shares only.

- In scope: the call has an `intent` event whose intent belongs to a use case of the
  store's configured set (the `use_cases` table, whatever its state), and no turn of it
  was turned away by a gate (a transfer coded `use-case-disabled`, `high-risk-use-case`
  or `agent-killed`: the agent was not allowed to handle it).
- Deflected (resolved without a human): in scope and contained (kpis.py: no transfer,
  no emergency, no declined consent, no hand-over). Deflection = deflected / in scope.
- Handling time: ended_at - started_at of every call that ended in the window; the
  average handling time is their mean.
- Escalation share by reason: calls escalated for the reason / calls (a call counts once
  per reason, so the shares may add up to more than the escalation rate).
- Cost per resolved call: the host's cost over the window (its monthly amortisation
  prorated by the window's length, plus power x hours x price per kWh, `[quality.cost]`)
  divided by the deflected calls; none without a cost model or without a resolved call.
- Per use case: the in-scope calls whose intents include one of the use case's; per tier:
  the calls of the tier's use cases (a call counts once per use case and once per tier).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from appliance.config_quality import QualityCost
from appliance.quality.kpis import ESCALATED, WINDOW, ratio
from appliance.quality.rules_compliance import PAYMENT_REASON
from appliance.store.db import Connection

TIERS = ("low", "medium", "high")
TURNED_AWAY = ("use-case-disabled", "high-risk-use-case", "agent-killed")
MONTH_S = 365.25 / 12 * 86400.0  # the mean month the amortisation is spread over
HOUR_S = 3600.0

_TURNED_AWAY_SQL = (
    "EXISTS (SELECT 1 FROM call_events t WHERE t.call_id = c.call_id"
    " AND t.kind IN ('transfer-requested', 'workflow-transfer')"
    " AND t.code IN (SELECT value FROM json_each(:turned_away)))"
)
_INTENTS_SQL = (
    "(SELECT json_group_array(DISTINCT i.code) FROM call_events i"
    " WHERE i.call_id = c.call_id AND i.kind = 'intent' AND i.code IS NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Slice:
    """The in-scope calls of one use case or tier."""

    calls: int = 0
    deflected: int = 0
    handling_s: float = 0.0  # summed

    @property
    def deflection_rate(self) -> float | None:
        return ratio(self.deflected, self.calls)

    @property
    def average_handling_s(self) -> float | None:
        return self.handling_s / self.calls if self.calls else None

    def plus(self, seconds: float, deflected: bool) -> Slice:
        return Slice(self.calls + 1, self.deflected + deflected, self.handling_s + seconds)


@dataclass(frozen=True, slots=True)
class MoreKpis:
    since: float
    until: float
    calls: int  # calls that ended in the window
    handling_s: float  # their summed duration
    in_scope: int
    deflected: int
    use_cases: dict[str, Slice]  # every configured use case id, in id order
    tiers: dict[str, Slice]  # low, medium, high
    escalated: dict[str, int] = field(default_factory=dict)  # calls per reason
    host_cost: float | None = None  # the host's cost over the window (cost model set)
    case_tiers: dict[str, str] = field(default_factory=dict)  # use case id -> its tier

    @property
    def deflection_rate(self) -> float | None:
        return ratio(self.deflected, self.in_scope)

    @property
    def average_handling_s(self) -> float | None:
        return self.handling_s / self.calls if self.calls else None

    @property
    def cost_per_resolved_call(self) -> float | None:
        if self.host_cost is None or self.deflected == 0:
            return None
        return self.host_cost / self.deflected

    def escalation_rate(self, reason: str) -> float | None:
        return ratio(self.escalated.get(reason, 0), self.calls)


def host_cost(cost: QualityCost | None, seconds: float) -> float | None:
    """The host's cost over `seconds` (None without a cost model)."""
    if cost is None or not cost.configured:
        return None
    power = cost.power_watts / 1000.0 * (seconds / HOUR_S) * cost.price_per_kwh
    return cost.host_per_month * seconds / MONTH_S + power


def configured_use_cases(conn: Connection) -> dict[str, tuple[str, frozenset[str]]]:
    """Use case id -> (tier, intents), the store's configured set (the agent's switch
    row, tier "none", is not a use case)."""
    rows = conn.execute(
        "SELECT id, tier, intents FROM use_cases WHERE tier IN ('low', 'medium', 'high')"
        " ORDER BY id"
    ).fetchall()
    return {str(r[0]): (str(r[1]), frozenset(json.loads(r[2]))) for r in rows}


def compute_more(
    conn: Connection,
    since: float,
    until: float,
    cost: QualityCost | None = None,
    escalated: dict[str, int] | None = None,
) -> MoreKpis:
    """The KPIs above of the calls that ended in [since, until); a read transaction."""
    cases = configured_use_cases(conn)
    in_scope_intents = frozenset(i for _, intents in cases.values() for i in intents)
    rows = conn.execute(
        f"SELECT c.ended_at - c.started_at, {ESCALATED}, {_TURNED_AWAY_SQL}, {_INTENTS_SQL}"  # noqa: S608
        f" FROM calls c WHERE {WINDOW}",
        {
            "since": since,
            "until": until,
            "payment": PAYMENT_REASON,
            "turned_away": json.dumps(TURNED_AWAY),
        },
    ).fetchall()
    per_case = dict.fromkeys(cases, Slice())
    per_tier = dict.fromkeys(TIERS, Slice())
    handling, in_scope, deflected = 0.0, 0, 0
    for seconds, was_escalated, turned_away, intents_json in rows:
        seconds = max(0.0, float(seconds))
        handling += seconds
        intents = frozenset(json.loads(intents_json or "[]"))
        if turned_away or not intents & in_scope_intents:
            continue
        resolved = not was_escalated
        in_scope, deflected = in_scope + 1, deflected + resolved
        tiers = set()
        for case_id, (tier, case_intents) in cases.items():
            if intents & case_intents:
                per_case[case_id] = per_case[case_id].plus(seconds, resolved)
                tiers.add(tier)
        for tier in tiers:
            per_tier[tier] = per_tier[tier].plus(seconds, resolved)
    return MoreKpis(
        since, until, len(rows), handling, in_scope, deflected, per_case, per_tier,
        dict(escalated or {}), host_cost(cost, until - since),
        {case_id: tier for case_id, (tier, _) in cases.items()},
    )  # fmt: skip

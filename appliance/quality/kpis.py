"""Business KPIs of the calls that ended in a time window, read from the store.

Counts only (no call ids, no words): what Prometheus gets (appliance/observability/
kpi_metrics.py, over the last 24 h) and what the weekly digest shows. The calls are those
that *ended* in [since, until).

- Containment: a call is contained when it ended without an escalation: no transfer was
  asked for (`transfer-requested`), no emergency instruction (`workflow-emergency`), no
  declined consent, and no workflow decision to hand over to a person
  (`workflow-transfer`, except a payment, which the PCI pause handles on the call). A
  caller who hangs up early is contained too (nobody else had to take the call).
- Compliance flag: a scored call whose latest row of some compliance evaluator
  (COMPLIANCE_EVALUATORS) says `fail`. The share is of the calls with at least one
  compliance row (calls not scored yet are not counted).
- Escalation reasons: calls per reason of escalation (a call counts once per reason):
  the transfer's reason code, the workflow's hand-over code, `emergency`,
  `consent-declined`. ESCALATION_REASONS are the reasons the appliance gives (a test
  keeps them in step with the workflow engine); Prometheus gets those as label values
  and "other" for anything else.
- Transfer failure: of the transfers with a result (`transfer-ok` / `transfer-failed`,
  blind and attended alike), the share that failed (busy, no answer, timeout, ...).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from appliance.quality.rules_compliance import PAYMENT_REASON
from appliance.store.db import Connection

ESCALATION_REASONS = (
    "caller-request",
    "not-understood",
    "identity-failed",
    "identity-locked",
    "use-case-disabled",
    "high-risk-use-case",
    "agent-killed",
    "billing-payment",
    "consent-declined",
    "emergency",
)
COMPLIANCE_EVALUATORS = (
    "ai-disclosure-within-10s",
    "identity-before-phi",
    "consent-honoured",
    "pci-pause-held",
)


@dataclass(frozen=True, slots=True)
class Kpis:
    since: float  # UNIX s, included
    until: float  # UNIX s, excluded
    calls: int  # calls that ended in the window
    contained: int  # ... without an escalation
    scored: int  # ... with at least one compliance score
    flagged: int  # ... whose latest compliance score on some evaluator is a fail
    transfers: int  # transfers with a result (ok or failed)
    transfers_failed: int

    @property
    def containment_rate(self) -> float | None:
        return ratio(self.contained, self.calls)

    @property
    def compliance_flag_rate(self) -> float | None:
        return ratio(self.flagged, self.scored)

    @property
    def transfer_failure_rate(self) -> float | None:
        return ratio(self.transfers_failed, self.transfers)


def ratio(part: int, whole: int) -> float | None:
    """part / whole, None when there is nothing to divide (no calls is not 0 %)."""
    return part / whole if whole > 0 else None


def compute_kpis(conn: Connection, since: float, until: float) -> Kpis:
    """The KPIs of the calls that ended in [since, until); run in a read transaction."""
    calls, contained = _containment(conn, since, until)
    scored, flagged = _compliance(conn, since, until)
    transfers, failed = _transfers(conn, since, until)
    return Kpis(since, until, calls, contained, scored, flagged, transfers, failed)


# the calls that ended in the window (started_at bounds the index scan: a day before);
# the queries join the window's calls to their rows (CROSS JOIN: calls is the outer loop,
# so only the window's scores, events and turns are read, through their call_id indexes)
WINDOW = "c.ended_at >= :since AND c.ended_at < :until AND c.started_at >= :since - 86400"

# true for a call with an escalation (correlated on c.call_id)
ESCALATED = (
    "EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = c.call_id AND"
    " (e.kind IN ('transfer-requested', 'workflow-emergency', 'consent-declined')"
    "  OR (e.kind = 'workflow-transfer' AND coalesce(e.code, '') != :payment)))"
)

# the latest row (highest id) of the call's evaluator: re-scoring supersedes, never updates
LATEST = (
    "s.id = (SELECT max(l.id) FROM call_scores l"
    " WHERE l.call_id = s.call_id AND l.evaluator = s.evaluator)"
)


def _window(since: float, until: float) -> dict[str, object]:
    return {"since": since, "until": until, "payment": PAYMENT_REASON}


def _containment(conn: Connection, since: float, until: float) -> tuple[int, int]:
    row = conn.execute(
        f"SELECT count(*), coalesce(sum(NOT {ESCALATED}), 0)"  # noqa: S608
        f" FROM calls c WHERE {WINDOW}",
        _window(since, until),
    ).fetchone()
    return int(row[0]), int(row[1])


def _compliance(conn: Connection, since: float, until: float) -> tuple[int, int]:
    row = conn.execute(
        "SELECT count(*), coalesce(sum(flag), 0) FROM ("  # noqa: S608
        " SELECT s.call_id, max(s.verdict = 'fail') AS flag"
        " FROM calls c CROSS JOIN call_scores s ON s.call_id = c.call_id"
        f" WHERE {WINDOW} AND {LATEST}"
        " AND s.evaluator IN (SELECT value FROM json_each(:evaluators))"
        " GROUP BY s.call_id)",
        {**_window(since, until), "evaluators": json.dumps(COMPLIANCE_EVALUATORS)},
    ).fetchone()
    return int(row[0]), int(row[1])


def _transfers(conn: Connection, since: float, until: float) -> tuple[int, int]:
    row = conn.execute(
        "SELECT count(*), coalesce(sum(e.kind = 'transfer-failed'), 0)"  # noqa: S608
        " FROM calls c CROSS JOIN call_events e ON e.call_id = c.call_id"
        f" WHERE {WINDOW} AND e.kind IN ('transfer-ok', 'transfer-failed')",
        _window(since, until),
    ).fetchone()
    return int(row[0]), int(row[1])


def escalation_counts(conn: Connection, since: float, until: float) -> dict[str, int]:
    """Calls per escalation reason (the stored codes as they are; "unknown" for none)."""
    rows = conn.execute(
        "SELECT DISTINCT c.call_id, CASE e.kind"  # noqa: S608
        " WHEN 'workflow-emergency' THEN 'emergency'"
        " WHEN 'consent-declined' THEN 'consent-declined' ELSE coalesce(e.code, 'unknown') END"
        " FROM calls c CROSS JOIN call_events e ON e.call_id = c.call_id"
        f" WHERE {WINDOW} AND (e.kind IN"
        " ('transfer-requested', 'workflow-emergency', 'consent-declined')"
        " OR (e.kind = 'workflow-transfer' AND coalesce(e.code, '') != :payment))",
        _window(since, until),
    ).fetchall()
    return dict(Counter(str(r[1]) for r in rows))

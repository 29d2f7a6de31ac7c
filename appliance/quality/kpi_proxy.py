"""The proxy signals (appliance/quality/rules_proxy.py) of the calls that ended in a
window, summed per use case, as gauges for the admin's /metrics (kpi_metrics.py).

A call counts under each configured use case whose intents its `intent` events include
(as kpi_more.py counts them), or under `none` when it has none (a hang-up, an emergency,
a request never understood). Each call's latest proxy-signals row is read (a re-scoring
supersedes); a call whose row is n/a (no caller turns) or not scored yet is not counted.

    appliance_kpi_proxy_scored_calls{use_case}        calls with proxy counts
    appliance_kpi_proxy_unsure_calls{use_case}        ... whose counts were over a limit
    appliance_kpi_proxy_signals{use_case,signal}      the summed counts

Label values are fixed: `use_case` the configured use case ids and `none`; `signal`
low-confidence (caller turns), reprompts, corrections, and low-words (words under
`[stt] low_word_probability`) only while some call of the window counted words (`[stt]
word_confidence`, off by default on the CPU). Every pair is exported, 0 when none, so
a rate() sees a use case's first signal. Counts only: no call id, no word.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric

from appliance.quality import rules_proxy
from appliance.quality.kpi_more import configured_use_cases
from appliance.quality.kpis import LATEST, WINDOW
from appliance.store.db import Connection

SIGNALS = "appliance_kpi_proxy_signals"
SCORED = "appliance_kpi_proxy_scored_calls"
UNSURE = "appliance_kpi_proxy_unsure_calls"
NO_USE_CASE = "none"

_INTENTS = (
    "(SELECT json_group_array(DISTINCT i.code) FROM call_events i"
    " WHERE i.call_id = c.call_id AND i.kind = 'intent' AND i.code IS NOT NULL)"
)


@dataclass(slots=True)
class ProxyCounts:
    """One use case's calls and summed signals."""

    calls: int = 0
    unsure: int = 0
    signals: dict[str, int] = field(default_factory=dict)


def proxy_by_use_case(conn: Connection, since: float, until: float) -> dict[str, ProxyCounts]:
    """Use case id (and `none`) -> its calls' proxy counts; a read transaction."""
    cases = {k: intents for k, (_, intents) in configured_use_cases(conn).items()}
    found = {k: ProxyCounts() for k in (*cases, NO_USE_CASE)}
    rows = conn.execute(
        f"SELECT s.verdict, s.reason, {_INTENTS} FROM calls c"  # noqa: S608
        " CROSS JOIN call_scores s ON s.call_id = c.call_id"
        f" WHERE {WINDOW} AND {LATEST} AND s.evaluator = :proxy",
        {"since": since, "until": until, "proxy": rules_proxy.NAME},
    ).fetchall()
    for verdict, reason, intents_json in rows:
        counts = rules_proxy.parse_counts(str(reason))
        if counts is None:  # n/a or an evaluator error
            continue
        intents = frozenset(json.loads(intents_json or "[]"))
        keys = [k for k, case_intents in cases.items() if intents & case_intents]
        for key in keys or [NO_USE_CASE]:
            slot = found[key]
            slot.calls += 1
            slot.unsure += verdict == "unsure"
            for signal, n in counts.items():
                slot.signals[signal] = slot.signals.get(signal, 0) + n
    return found


def proxy_families(found: dict[str, ProxyCounts]) -> Iterator[Metric]:
    """The three gauges above, every fixed label pair exported."""
    words = any(rules_proxy.WORDS in c.signals for c in found.values())
    names = (*rules_proxy.SIGNALS, rules_proxy.WORDS) if words else rules_proxy.SIGNALS
    scored = GaugeMetricFamily(
        SCORED, "Calls of the last 24 h with proxy-signal counts, per use case", labels=["use_case"]
    )
    unsure = GaugeMetricFamily(
        UNSURE, "... whose counts were over a limit (unsure), per use case", labels=["use_case"]
    )
    signals = GaugeMetricFamily(
        SIGNALS,
        "Proxy signals of recognition trouble in the last 24 h's calls, per use case",
        labels=["use_case", "signal"],
    )
    for key, counts in found.items():
        scored.add_metric([key], float(counts.calls))
        unsure.add_metric([key], float(counts.unsure))
        for name in names:
            signals.add_metric([key, name], float(counts.signals.get(name, 0)))
    yield from (scored, unsure, signals)

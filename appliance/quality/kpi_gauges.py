"""The gauges of appliance/quality/kpi_more.py for the admin's /metrics (kpi_metrics.py).

Label values are fixed: `reason` the escalation reasons (ESCALATION_REASONS and
"other"), `use_case` the configured use case ids (the store's set, a handful), `tier`
low / medium / high. A share whose denominator is 0 is left out (no alert on nothing).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from appliance.quality.kpi_more import MoreKpis, Slice

IN_SCOPE = "appliance_kpi_in_scope_calls"
DEFLECTED = "appliance_kpi_deflected_calls"
DEFLECTION = "appliance_kpi_deflection_ratio"
AHT = "appliance_kpi_average_handling_seconds"
ESCALATION = "appliance_kpi_escalation_ratio"
HOST_COST = "appliance_kpi_host_cost"
COST = "appliance_kpi_cost_per_resolved_call"
USE_CASE = "appliance_kpi_use_case"  # _calls, _deflected_calls, _deflection_ratio, ...
TIER = "appliance_kpi_tier"
NAMES = (IN_SCOPE, DEFLECTED, DEFLECTION, AHT, ESCALATION, HOST_COST, COST)
SLICE_SUFFIXES = ("_calls", "_deflected_calls", "_deflection_ratio", "_average_handling_seconds")


def _gauge(name: str, text: str, value: float | None) -> Iterator[Metric]:
    if value is not None:
        yield GaugeMetricFamily(name, text, value=float(value))


def more_families(more: MoreKpis, currency: str) -> Iterator[Metric]:
    yield from _gauge(IN_SCOPE, "Calls of the last 24 h with an in-scope intent", more.in_scope)
    yield from _gauge(DEFLECTED, "In-scope calls of the last 24 h resolved without a human",
                      more.deflected)  # fmt: skip
    yield from _gauge(DEFLECTION, "Share of the in-scope calls resolved without a human",
                      more.deflection_rate)  # fmt: skip
    yield from _gauge(AHT, "Mean duration of the calls ended in the last 24 h (s)",
                      more.average_handling_s)  # fmt: skip
    yield from _gauge(HOST_COST, f"The host's cost over the last 24 h ({currency})",
                      more.host_cost)  # fmt: skip
    yield from _gauge(COST, f"Host cost per resolved (deflected) call, last 24 h ({currency})",
                      more.cost_per_resolved_call)  # fmt: skip
    shares = GaugeMetricFamily(
        ESCALATION, "Share of the last 24 h's calls escalated, by reason", labels=["reason"]
    )
    for reason in more.escalated:
        value = more.escalation_rate(reason)
        if value is not None:
            shares.add_metric([reason], value)
    yield shares
    yield from _slices(USE_CASE, "use case", ["use_case", "tier"],
                       {(k,): s for k, s in more.use_cases.items()}, more)  # fmt: skip
    yield from _slices(TIER, "risk tier", ["tier"], {(k,): s for k, s in more.tiers.items()}, more)


def _slices(
    prefix: str, what: str, labels: list[str], slices: dict[tuple[str], Slice], more: MoreKpis
) -> Iterator[Metric]:
    texts = (
        f"In-scope calls of the last 24 h per {what}",
        f"... resolved without a human, per {what}",
        f"Deflection per {what}, last 24 h",
        f"Mean duration of the in-scope calls per {what}, last 24 h (s)",
    )
    families = [
        GaugeMetricFamily(prefix + suffix, text, labels=labels)
        for suffix, text in zip(SLICE_SUFFIXES, texts, strict=True)
    ]
    for (key,), s in slices.items():
        values = [key, more.case_tiers[key]] if len(labels) == 2 else [key]
        for family, value in zip(
            families, (s.calls, s.deflected, s.deflection_rate, s.average_handling_s), strict=True
        ):
            if value is not None:
                family.add_metric(values, float(value))
    yield from families

"""Prometheus metrics. Label values are fixed enums and codes, never PHI."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.calls_total = Counter(
            "appliance_calls", "Calls ended, by outcome", ["outcome"], registry=r
        )
        self.calls_active = Gauge("appliance_calls_active", "Calls in progress", registry=r)
        self.turns_total = Counter("appliance_turns", "Caller turns answered", registry=r)
        self.stage_seconds = Histogram(
            "appliance_stage_seconds",
            "Seconds from the end of caller speech (or answer, for the greeting) to each stage",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self.stage_failures_total = Counter(
            "appliance_stage_failures", "Stage failures, by stage and code", ["stage", "code"],
            registry=r,
        )
        self.component_up = Gauge(
            "appliance_component_up", "1 when a component is healthy", ["component"], registry=r
        )

"""Prometheus metrics. Label values are fixed enums and codes, never PHI.

The helper methods (`observe_stage`, `stage_failed`, `call_ended`, `set_component`) only
let label values through that look like codes (`[a-z][a-z0-9_-]*`, short); anything else
becomes "other", so a mistake cannot put caller data into a label.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.registry import Collector

from appliance.observability.health import Health

# Seconds from the end of caller speech (or from answer, for the greeting) to each stage.
STAGES = (
    "end_of_turn",
    "stt",
    "llm_first_token",
    "first_sentence",
    "tts_first_audio",
    "turn_gap",
    "reply_audio_out",  # the reply's own first audio out (turn_gap counts the filler)
    "filler",  # when the filler started, on the turns where it played
    "greeting_first_audio",
    "barge_in_stop",
)
# edges at the programme's turn latency thresholds (P90 3.5 s, P99 5 s): exact alerts there
BUCKETS = (0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 3.5, 5.0, 10.0)
OTHER = "other"
_LIVE_FILE = re.compile(r"^gauge_live[a-z]*_(\d+)\.db$")
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,47}$")


def code_label(value: str) -> str:
    """`value` if it looks like a stable code, else "other"."""
    return value if _CODE.match(value) else OTHER


class Metrics:
    """The appliance's metrics, in their own registry (not the process-global one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._extra: list[Collector] = []  # e.g. the admin's view of the units' beacons
        r = self.registry
        self.calls_total = Counter(
            "appliance_calls", "Calls ended, by outcome", ["outcome"], registry=r
        )
        self.calls_rejected_total = Counter(
            "appliance_calls_rejected",
            "Inbound calls the worker refused (486 all its slots busy, 503 draining), by status",
            ["code"],
            registry=r,
        )
        self.calls_active = Gauge(
            "appliance_calls_active", "Calls in progress", registry=r, multiprocess_mode="livesum"
        )
        self.turns_total = Counter("appliance_turns", "Caller turns answered", registry=r)
        self.stage_seconds = Histogram(
            "appliance_stage_seconds",
            "Seconds from the end of caller speech (or answer, for the greeting) to each stage",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self.stage_failures_total = Counter(
            "appliance_stage_failures",
            "Stage failures, by stage and error code",
            ["stage", "code"],
            registry=r,
        )
        self.stt_fallbacks_total = Counter(
            "appliance_stt_fallbacks",
            "Speech-to-text models loaded on the CPU because [stt] device did not load, by code",
            ["code"],
            registry=r,
        )
        self.component_up = Gauge(
            "appliance_component_up",
            "1 when a component is healthy",
            ["component"],
            registry=r,
            multiprocess_mode="livemostrecent",
        )

        for stage in STAGES:  # export every stage from the start, with zero counts
            self.stage_seconds.labels(stage=stage)

    def exposition_registry(self) -> CollectorRegistry:
        """What /metrics serves: all processes' metrics under `appliance run`."""
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return self.registry
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        for collector in self._extra:
            merged.register(collector)
        return merged

    def add_collector(self, collector: Collector) -> None:
        """Serve `collector` on /metrics too (its family names must be its own)."""
        self._extra.append(collector)
        self.registry.register(collector)

    def observe_stage(self, stage: str, seconds: float) -> bool:
        """Record a stage time; False (and nothing recorded) for a stage not in STAGES."""
        if stage not in STAGES:
            return False
        self.stage_seconds.labels(stage=stage).observe(seconds)
        return True

    def stage_failed(self, stage: str, code: str) -> None:
        self.stage_failures_total.labels(stage=code_label(stage), code=code_label(code)).inc()

    def call_started(self) -> None:
        self.calls_active.inc()

    def call_ended(self, outcome: str) -> None:
        self.calls_active.dec()
        self.calls_total.labels(outcome=code_label(outcome)).inc()

    def call_rejected(self, status: int) -> None:
        """An inbound call refused with SIP `status` (any thread: counters are thread-safe)."""
        self.calls_rejected_total.labels(code=str(status) if 100 <= status < 700 else OTHER).inc()

    def calls_interrupted(self, count: int) -> None:
        """Calls a crash left open, ended at start-up: counted as ended "interrupted"."""
        if count > 0:
            self.calls_total.labels(outcome="interrupted").inc(count)

    def stt_fell_back(self, code: str) -> None:
        self.stt_fallbacks_total.labels(code=code_label(code)).inc()

    def set_component(self, component: str, ok: bool) -> None:
        self.component_up.labels(component=code_label(component)).set(1 if ok else 0)

    def record_health(self, health: Health) -> None:
        """Mirror the health registry into `component_up` (e.g. just before a scrape)."""
        for name, status in health.components().items():
            self.set_component(name, status.ok)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def forget_dead_processes() -> list[int]:
    """Drop the live gauges of processes that are gone (a killed worker's calls in
    progress), as `mark_process_dead` does on a clean exit; counters are kept."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory or not Path(directory).is_dir():
        return []
    dead = set()
    for path in Path(directory).iterdir():
        found = _LIVE_FILE.match(path.name)
        if found and not _alive(int(found.group(1))):
            dead.add(int(found.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    return sorted(dead)

"""The admin's side of the health beacons: every expected component on /healthz and /metrics.

`BeaconBoard.refresh()` reads the beacon of each component the configuration expects
(the SIP edge and agent workers 0..N-1) into the admin's health registry: a beacon's own
statuses when it is fresh, else the component down with "no report" (never started, dead,
or hung for STALE_S). The statuses a beacon brought in are removed again once it goes
stale, so a dead worker's "stt ok" does not linger. As a prometheus Collector the board
exports the fresh beacons' process-local samples (e.g. the edge's registration states).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from appliance.observability.beacons import MAX_BYTES, STALE_S, Beacon, Sample, parse_beacon
from appliance.observability.health import Health

REFRESH_S = 2.0  # s between reads of the beacons


def read_beacon(path: Path) -> Beacon | None:
    """The beacon at `path`, or None (absent, unreadable, too large or malformed)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_BYTES:
        return None
    return parse_beacon(data.decode("utf-8", "replace"))


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s"


class BeaconBoard:
    """The expected components' beacons in `directory`, mirrored into `health`."""

    def __init__(
        self,
        directory: Path,
        expected: Iterable[str],
        health: Health,
        clock: Callable[[], float] = time.time,
        stale_s: float = STALE_S,
    ) -> None:
        self.directory, self.expected = directory, tuple(expected)
        self.health, self.clock, self.stale_s = health, clock, stale_s
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._brought: dict[str, set[str]] = {}  # component -> names its beacon set

    def refresh(self) -> None:
        now = self.clock()
        samples: list[Sample] = []
        for component in self.expected:
            beacon = read_beacon(self.directory / f"{component}.json")
            fresh = beacon is not None and beacon.component == component
            if beacon is not None and fresh:
                age = now - beacon.at
                fresh = -self.stale_s < age <= self.stale_s
            if beacon is None or not fresh:
                self._down(component, beacon, now)
                continue
            self._mirror(component, beacon)
            samples.extend(_labelled(s, component) for s in beacon.samples)
        with self._lock:
            self._samples = samples

    def _down(self, component: str, beacon: Beacon | None, now: float) -> None:
        for name in self._brought.pop(component, set()) - {component}:
            self.health.remove(name)
        if beacon is None:
            detail = f"no report in {self.directory}"
        else:
            detail = f"no report for {_age(now - beacon.at)} (pid {beacon.pid})"
        self.health.set(component, False, detail)

    def _mirror(self, component: str, beacon: Beacon) -> None:
        names = set(beacon.components)
        for name in self._brought.get(component, set()) - names:
            self.health.remove(name)
        for name, status in beacon.components.items():
            self.health.set(name, status.ok, status.detail)
        if component not in names:  # a beacon always speaks for its own component
            self.health.set(component, True, f"reporting (pid {beacon.pid})")
            names.add(component)
        self._brought[component] = names

    def samples_of(self, component: str) -> list[Sample]:
        """The samples of `component`'s beacon, if it was fresh at the last refresh."""
        with self._lock:
            return [s for s in self._samples if s.labels.get("component") == component]

    def collect(self) -> Iterator[Metric]:
        """The fresh beacons' samples as metric families (prometheus Collector)."""
        with self._lock:
            samples = list(self._samples)
        yield from families(samples)


class HeldSamples:
    """The samples of a component that writes no beacon because this process runs it
    (the SIP edge under `appliance run`), exported as the board exports a fresh beacon's:
    the same families, with the same `component` label (prometheus Collector)."""

    def __init__(self, component: str) -> None:
        self.component = component
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def hold(self, samples: Iterable[Sample]) -> None:
        """Replace the samples held (each gets the component label)."""
        labelled = [_labelled(s, self.component) for s in samples]
        with self._lock:
            self._samples = labelled

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def collect(self) -> Iterator[Metric]:
        yield from families(self.samples())


def families(samples: Iterable[Sample]) -> Iterator[Metric]:
    """Samples as metric families, one per name (whatever a beacon claims)."""
    grouped: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[(sample.name, sample.kind)].append(sample)
    seen: set[str] = set()
    for (name, kind), group in sorted(grouped.items()):
        if name in seen:
            continue
        seen.add(name)
        yield _family(name, kind, group)


def _labelled(sample: Sample, component: str) -> Sample:
    """The sample with the component it came from as a label (no two beacons collide)."""
    labels = {**sample.labels, "component": component}
    return Sample(sample.name, sample.kind, sample.help, labels, sample.value)


def _family(name: str, kind: str, group: list[Sample]) -> Metric:
    labels = sorted({k for s in group for k in s.labels})
    family: GaugeMetricFamily | CounterMetricFamily
    if kind == "counter":
        family = CounterMetricFamily(name.removesuffix("_total"), group[0].help, labels=labels)
    else:
        family = GaugeMetricFamily(name, group[0].help, labels=labels)
    for sample in group:
        family.add_metric([sample.labels.get(k, "") for k in labels], sample.value)
    return family


async def follow_beacons(board: BeaconBoard, stop: asyncio.Event) -> None:
    """Refresh the board every REFRESH_S until `stop`."""
    while not stop.is_set():
        await asyncio.to_thread(board.refresh)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH_S)

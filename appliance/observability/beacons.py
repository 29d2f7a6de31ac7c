"""Health beacons: how the units' health and metrics reach the admin's /healthz and /metrics.

Under systemd there is no supervisor: the SIP edge (its own user) and each agent worker
are separate units. Each writes a beacon, `<dir>/<component>.json`, every few seconds:
its health registry (short PHI-free details) and a few gauges and counters that live only
in that process. The admin reads the beacons of every component the configuration
expects; a missing beacon, or one older than STALE_S, is that component down ("no
report"), so a dead, hung or never-started unit shows on /healthz and as
`appliance_component_up 0`. The folder is /run/appliance-health under the units
($APPLIANCE_HEALTH_DIR), else var/run/health.

A beacon is written to a temporary file and renamed, so a reader never sees half of one.
Every name and label value is checked against the code pattern on both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.registry import Collector

from appliance.observability.health import MAX_DETAIL, ComponentStatus, Health
from appliance.observability.metrics import code_label

logger = logging.getLogger(__name__)

ENV = "APPLIANCE_HEALTH_DIR"
EVERY_S = 5.0  # s between beacons
STALE_S = 15.0  # s after which a beacon no longer counts: the component is down
MAX_BYTES = 64 * 1024  # a beacon larger than this is ignored
MAX_SAMPLES = 200
_METRIC = re.compile(r"^appliance_[a-z0-9_]{1,60}$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,47}$")
_STATUS = re.compile(r"^[1-6][0-9]{2}$")


def beacon_dir(var_dir: Path) -> Path:
    """$APPLIANCE_HEALTH_DIR (the units: /run/appliance-health), else var/run/health."""
    chosen = os.environ.get(ENV, "")
    return Path(chosen) if chosen else var_dir / "run" / "health"


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of a process-local metric carried by a beacon."""

    name: str  # appliance_...
    kind: str  # "gauge" | "counter"
    help: str
    labels: dict[str, str]
    value: float


@dataclass(slots=True)
class Beacon:
    component: str
    at: float
    pid: int
    components: dict[str, ComponentStatus]
    samples: list[Sample] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "component": self.component,
                "at": self.at,
                "pid": self.pid,
                "components": {
                    n: {"ok": c.ok, "detail": c.detail} for n, c in self.components.items()
                },
                "samples": [
                    {
                        "name": s.name,
                        "kind": s.kind,
                        "help": s.help,
                        "labels": s.labels,
                        "value": s.value,
                    }
                    for s in self.samples
                ],
            },
            separators=(",", ":"),
        )


def _component_status(raw: Any) -> ComponentStatus | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("ok"), bool):
        return None
    detail = raw.get("detail")
    return ComponentStatus(raw["ok"], detail[:MAX_DETAIL] if isinstance(detail, str) else "")


def _sample(raw: Any) -> Sample | None:
    if not isinstance(raw, dict):
        return None
    name, kind, value, labels = (
        raw.get("name"),
        raw.get("kind"),
        raw.get("value"),
        raw.get("labels"),
    )
    if not (isinstance(name, str) and _METRIC.match(name) and kind in ("gauge", "counter")):
        return None
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not isinstance(labels, dict)
    ):
        return None
    clean = {code_label(str(k)): _label_value(str(v)) for k, v in labels.items()}
    help_text = raw.get("help") if isinstance(raw.get("help"), str) else name
    return Sample(name, str(kind), str(help_text)[:MAX_DETAIL], clean, float(value))


def _label_value(value: str) -> str:
    """A code, or a SIP status (3 digits: never a number that could be a caller's)."""
    return value if _STATUS.match(value) else code_label(value)


def parse_beacon(text: str) -> Beacon | None:
    """The beacon in `text`, or None when it is not a well-formed one."""
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    component, at, pid = raw.get("component"), raw.get("at"), raw.get("pid")
    if not (isinstance(component, str) and _NAME.match(component)):
        return None
    if not isinstance(at, int | float) or not isinstance(pid, int):
        return None
    parts = raw.get("components")
    parts = parts if isinstance(parts, dict) else {}
    statuses = {
        n: s
        for n, s in ((n, _component_status(v)) for n, v in parts.items())
        if s is not None and _NAME.match(n)
    }
    found = raw.get("samples")
    found = found if isinstance(found, list) else []
    samples = [s for s in (_sample(r) for r in found[:MAX_SAMPLES]) if s is not None]
    return Beacon(component, float(at), pid, statuses, samples)


def registry_samples(collectors: Iterable[Collector]) -> list[Sample]:
    """The gauges and counters of process-local collectors, as beacon samples."""
    samples: list[Sample] = []
    for collector in collectors:
        for family in collector.collect():
            if family.type not in ("gauge", "counter") or not _METRIC.match(family.name):
                continue
            for s in family.samples:
                if s.name.endswith("_created"):
                    continue
                samples.append(
                    Sample(s.name, family.type, family.documentation, dict(s.labels), s.value)
                )
    return samples[:MAX_SAMPLES]


class BeaconWriter:
    """Writes one component's beacon; `samples` adds the process-local metrics."""

    def __init__(
        self,
        directory: Path,
        component: str,
        health: Health,
        samples: Callable[[], list[Sample]] | None = None,
        prefix: bool = False,
    ) -> None:
        """`prefix`: the registry's names become `<component>-<name>` (an agent worker's
        "stt" is "agent-0-stt"), except the component's own entry."""
        if not _NAME.match(component):
            raise ValueError(f"not a component name: {component!r}")
        self.path = directory / f"{component}.json"
        self.component, self.health, self._samples = component, health, samples
        self.prefix = prefix

    def beacon(self, now: float) -> Beacon:
        samples = self._samples() if self._samples is not None else []
        statuses = self.health.components()
        if self.prefix:
            statuses = {
                n if n == self.component else f"{self.component}-{n}": s
                for n, s in statuses.items()
            }
        return Beacon(self.component, now, os.getpid(), statuses, samples)

    def write(self, now: float | None = None) -> None:
        """Replace the beacon atomically (0644 in a folder only the appliance may enter)."""
        text = self.beacon(time.time() if now is None else now).to_json()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # development
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.fchmod(fd, 0o644)  # readable by the admin's user despite UMask=0077
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def stopped(self) -> None:
        """A last beacon on a clean stop: the component is down, on purpose."""
        self.health.set(self.component, False, "stopped")
        self.write_logged()

    def write_logged(self) -> bool:
        try:
            self.write()
        except OSError as exc:
            logger.warning(
                "health beacon not written",
                extra={"stage": "health", "code": "health-beacon-failed", "errno": exc.errno},
            )
            return False
        return True


async def publish_periodically(writer: BeaconWriter, stop: asyncio.Event) -> None:
    """A beacon now and every EVERY_S until `stop`; a write that fails is logged once."""
    failing = False
    while not stop.is_set():
        if failing:
            with contextlib.suppress(OSError):
                writer.write()
                failing = False
        else:
            failing = not writer.write_logged()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), EVERY_S)

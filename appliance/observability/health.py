"""Per-component health for /healthz: short, PHI-free details only. Thread-safe."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

MAX_DETAIL = 200  # characters


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    ok: bool
    detail: str  # short and PHI-free, e.g. "listening on 127.0.0.1:5060"


class Health:
    """Components report `set(name, ok, detail)`; overall status is ok only if all are.

    An empty registry is not healthy: nothing has reported yet.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._components: dict[str, ComponentStatus] = {}

    def set(self, name: str, ok: bool, detail: str = "") -> None:
        status = ComponentStatus(bool(ok), " ".join(detail.split())[:MAX_DETAIL])
        with self._lock:
            self._components[name] = status

    def remove(self, name: str) -> None:
        with self._lock:
            self._components.pop(name, None)

    def components(self) -> dict[str, ComponentStatus]:
        """A copy of the current statuses."""
        with self._lock:
            return dict(self._components)

    def healthy(self) -> bool:
        components = self.components()
        return bool(components) and all(c.ok for c in components.values())

    def snapshot(self) -> dict[str, Any]:
        """`{"status": "ok" | "degraded", "components": {name: {"ok", "detail"}}}`."""
        components = self.components()
        ok = bool(components) and all(c.ok for c in components.values())
        return {
            "status": "ok" if ok else "degraded",
            "components": {n: {"ok": c.ok, "detail": c.detail} for n, c in components.items()},
        }

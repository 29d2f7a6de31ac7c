"""Per-component health for /healthz (short PHI-free details only)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    ok: bool
    detail: str


class Health:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._components: dict[str, ComponentStatus] = {}

    def set(self, name: str, ok: bool, detail: str = "") -> None:
        with self._lock:
            self._components[name] = ComponentStatus(ok, detail[:200])

    def healthy(self) -> bool:
        with self._lock:
            return bool(self._components) and all(c.ok for c in self._components.values())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            components = {k: {"ok": v.ok, "detail": v.detail} for k, v in self._components.items()}
        ok = bool(components) and all(c["ok"] for c in components.values())
        return {"status": "ok" if ok else "degraded", "components": components}

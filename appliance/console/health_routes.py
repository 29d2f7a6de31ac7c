"""The health screen (platform engineer, owner): the admin's health entries, the ones
/healthz answers (appliance/observability/health.py: short, PHI-free details), as a
table, how many calls are in progress, and each stage's latency percentiles over the
calls of the last 24 h (the turns' timings only: never their text)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Response

from appliance.console.guard import GuardedController, console_of, requires, session_of
from appliance.console.pages import page
from appliance.console.roles import Permission
from appliance.observability.health import Health
from appliance.quality.digest import percentile
from appliance.store.db import Connection

AnyRequest = Request[Any, Any, Any]
SEE = [requires(Permission.SEE_HEALTH)]
WINDOW_S = 24 * 3600.0  # s of calls the latency percentiles cover


@dataclass(frozen=True, slots=True)
class Latency:
    stage: str
    n: int
    p50: float | None
    p90: float | None
    p99: float | None


def _in_progress(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NULL").fetchone()[0])


def _latencies(conn: Connection, since: float) -> list[Latency]:
    """Per stage (in order of first appearance): nearest-rank p50/p90/p99 in s."""
    rows = conn.execute(
        "SELECT t.timings FROM calls c CROSS JOIN turns t ON t.call_id = c.call_id"
        " WHERE c.started_at >= ? ORDER BY c.started_at, t.seq",
        (since,),
    )
    values: dict[str, list[float]] = {}
    for (timings,) in rows:
        for stage, value in json.loads(timings).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(str(stage), []).append(float(value))
    return [
        Latency(stage, len(v), percentile(v, 0.5), percentile(v, 0.9), percentile(v, 0.99))
        for stage, v in values.items()
    ]


class HealthController(GuardedController):
    @get("/health", guards=SEE, sync_to_thread=True)
    def health(self, request: AnyRequest, health: NamedDependency[Health]) -> Response[str]:
        components = sorted(health.components().items())
        console = console_of(request)
        return page(
            "health.html",
            session=session_of(request),
            components=components,
            healthy=health.healthy(),
            in_progress=console.db.query(_in_progress),
            latencies=console.db.query(_latencies, console.now() - WINDOW_S),
        )

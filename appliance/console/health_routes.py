"""The health screen (platform engineer, owner): the admin's health entries, the ones
/healthz answers (appliance/observability/health.py: short, PHI-free details), as a
table, and how many calls are in progress."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Response

from appliance.console.guard import GuardedController, console_of, requires, session_of
from appliance.console.pages import page
from appliance.console.roles import Permission
from appliance.observability.health import Health
from appliance.store.db import Connection

AnyRequest = Request[Any, Any, Any]
SEE = [requires(Permission.SEE_HEALTH)]


def _in_progress(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NULL").fetchone()[0])


class HealthController(GuardedController):
    @get("/health", guards=SEE, sync_to_thread=True)
    def health(self, request: AnyRequest, health: NamedDependency[Health]) -> Response[str]:
        components = sorted(health.components().items())
        return page(
            "health.html",
            session=session_of(request),
            components=components,
            healthy=health.healthy(),
            in_progress=console_of(request).db.query(_in_progress),
        )

"""litestar app factory: health, metrics, the screen-pop; call review and KB editing later.

Controllers stay thin: the state lives in `Health`, `Metrics` and the repositories,
injected as dependencies. No request logging (bodies could carry PHI) and no OpenAPI
schema endpoint.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, Litestar, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Response
from prometheus_client.exposition import choose_encoder

from appliance.admin.screenpop import ScreenPop
from appliance.admin.screenpop_routes import ScreenPopController
from appliance.console.screens import CONTROLLERS as CONSOLE
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.store.calls import CallRepository

NO_STORE = {"cache-control": "no-store"}


class ComponentBody(msgspec.Struct, frozen=True):
    ok: bool
    detail: str


class HealthBody(msgspec.Struct, frozen=True):
    status: Literal["ok", "degraded"]
    components: dict[str, ComponentBody]


class OpsController(Controller):
    """Liveness/readiness and Prometheus scraping (loopback or the management VLAN)."""

    @get("/healthz", sync_to_thread=False)
    def healthz(self, health: NamedDependency[Health]) -> Response[HealthBody]:
        components = {
            name: ComponentBody(status.ok, status.detail)
            for name, status in health.components().items()
        }
        ok = bool(components) and all(c.ok for c in components.values())
        body = HealthBody("ok" if ok else "degraded", components)
        return Response(body, status_code=200 if ok else 503, headers=NO_STORE)

    @get("/metrics", sync_to_thread=False)
    def metrics(
        self,
        request: Request[Any, Any, Any],
        metrics: NamedDependency[Metrics],
        health: NamedDependency[Health],
    ) -> Response[bytes]:
        metrics.record_health(health)
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        # the header is set explicitly: litestar would append a second charset to text/*
        headers = {**NO_STORE, "content-type": content_type}
        return Response(encoder(metrics.exposition_registry()), headers=headers)


class RootController(Controller):
    """`/` is the console's front door (no other page lives there)."""

    @get("/", sync_to_thread=False)
    def root(self) -> Redirect:
        return Redirect("/console/", status_code=303, headers=NO_STORE)


def create_app(
    health: Health,
    metrics: Metrics,
    repo: CallRepository | None = None,
    screenpop: ScreenPop | None = None,
    console: Console | None = None,
) -> Litestar:
    """The admin app. `repo` is for the call-review screens (not served yet); with
    `screenpop` (ScreenPop.from_settings) the scheduler's screen-pop is served too, with
    `console` (Console.open) the console's sign-in and pages under /console, and `/`
    redirects there."""
    handlers: list[type[Controller]] = [OpsController]
    if screenpop is not None:
        handlers.append(ScreenPopController)
    if console is not None:
        handlers += [RootController, *CONSOLE]
    return Litestar(
        route_handlers=handlers,
        state=State({"screenpop": screenpop, "console": console}),
        dependencies={
            "health": Provide(lambda: health, use_cache=True, sync_to_thread=False),
            "metrics": Provide(lambda: metrics, use_cache=True, sync_to_thread=False),
            "repo": Provide(lambda: repo, use_cache=True, sync_to_thread=False),
        },
        openapi_config=None,
        logging_config=None,
        debug=False,
    )

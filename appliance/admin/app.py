"""litestar app factory: health and metrics now; call review and KB editing later."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.response import Response
from prometheus_client import generate_latest

from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.store.calls import CallRepository


@get("/healthz", sync_to_thread=False)
def healthz(state: State) -> Response[dict[str, Any]]:
    health: Health = state.health
    snapshot = health.snapshot()
    return Response(snapshot, status_code=200 if snapshot["status"] == "ok" else 503)


@get("/metrics", sync_to_thread=False)
def metrics(state: State) -> Response[bytes]:
    registry = state.metrics.registry
    # Prometheus text format 0.0.4; litestar appends the charset
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")


def create_app(health: Health, metrics_: Metrics, repo: CallRepository | None = None) -> Litestar:
    return Litestar(
        route_handlers=[healthz, metrics],
        state=State({"health": health, "metrics": metrics_, "repo": repo}),
        openapi_config=None,
        logging_config=None,
    )

"""The admin app: litestar's test client and a real uvicorn server on loopback."""

from __future__ import annotations

import httpx
import pytest
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def test_healthz_reports_each_component() -> None:
    health = Health()
    health.set("sip", True, "listening")
    health.set("llm", True, "ready")
    with TestClient(create_app(health, Metrics())) as client:
        ok = client.get("/healthz")
        assert ok.status_code == 200
        assert ok.json() == {
            "status": "ok",
            "components": {
                "sip": {"ok": True, "detail": "listening"},
                "llm": {"ok": True, "detail": "ready"},
            },
        }
        health.set("llm", False, "not answering")
        bad = client.get("/healthz")
        assert bad.status_code == 503
        assert bad.json()["status"] == "degraded"
        assert bad.json()["components"]["llm"] == {"ok": False, "detail": "not answering"}


def test_no_components_is_not_healthy() -> None:
    with TestClient(create_app(Health(), Metrics())) as client:
        assert client.get("/healthz").status_code == 503


async def test_real_server_serves_health_and_metrics() -> None:
    health, metrics = Health(), Metrics()
    health.set("store", True, "sqlcipher")
    metrics.stage_seconds.labels(stage="stt").observe(0.3)
    metrics.calls_total.labels(outcome="completed").inc()
    port = free_port()
    server = AdminServer(create_app(health, metrics), "127.0.0.1", port)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health_response = await client.get("/healthz")
            assert health_response.status_code == 200
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            body = response.text
            assert 'appliance_stage_seconds_bucket{le="0.3",stage="stt"} 1.0' in body
            assert 'appliance_calls_total{outcome="completed"} 1.0' in body
            assert (await client.get("/nope")).status_code == 404
    finally:
        await server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)

"""The admin app: litestar's test client and a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer, serve
from appliance.errors import ApplianceError
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics

pytestmark = pytest.mark.integration


def test_healthz_reports_each_component() -> None:
    health = Health()
    health.set("sip", True, "listening")
    health.set("llm", True, "ready")
    with TestClient(create_app(health, Metrics())) as client:
        ok = client.get("/healthz")
        assert ok.status_code == 200
        assert ok.headers["content-type"] == "application/json"
        assert ok.headers["cache-control"] == "no-store"
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
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "degraded", "components": {}}


def test_metrics_exposition_and_negotiation() -> None:
    health, metrics = Health(), Metrics()
    health.set("store", True, "sqlcipher")
    health.set("llm", False, "starting")
    metrics.observe_stage("llm_first_token", 0.4)
    with TestClient(create_app(health, metrics)) as client:
        plain = client.get("/metrics")
        assert plain.status_code == 200
        assert plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        body = plain.text
        assert "# TYPE appliance_stage_seconds histogram" in body
        assert 'appliance_stage_seconds_bucket{le="0.4",stage="llm_first_token"} 1.0' in body
        assert 'appliance_component_up{component="store"} 1.0' in body
        assert 'appliance_component_up{component="llm"} 0.0' in body
        om = client.get("/metrics", headers={"accept": "application/openmetrics-text"})
        assert om.headers["content-type"].startswith("application/openmetrics-text")
        assert om.text.rstrip().endswith("# EOF")
        assert client.get("/nope").status_code == 404
        assert client.get("/schema").status_code == 404  # no OpenAPI endpoint


async def test_real_server_serves_health_and_metrics() -> None:
    health, metrics = Health(), Metrics()
    health.set("store", True, "sqlcipher")
    metrics.observe_stage("stt", 0.3)
    metrics.call_started()
    metrics.call_ended("completed")
    server = AdminServer(create_app(health, metrics), "127.0.0.1", 0)
    await server.start()
    port = server.port
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.get("/healthz")
            assert response.status_code == 200
            assert response.json()["components"] == {"store": {"ok": True, "detail": "sqlcipher"}}
            assert "server" not in response.headers
            health.set("sip", False, "starting")
            assert (await client.get("/healthz")).status_code == 503
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            body = response.text
            for name in (
                "appliance_calls_total", "appliance_calls_active", "appliance_turns_total",
                "appliance_stage_seconds", "appliance_stage_failures_total",
                "appliance_component_up",
            ):  # fmt: skip
                assert f"# TYPE {name.removesuffix('_total')}" in body
            assert 'appliance_stage_seconds_bucket{le="0.3",stage="stt"} 1.0' in body
            assert 'appliance_calls_total{outcome="completed"} 1.0' in body
            assert (await client.get("/nope")).status_code == 404
    finally:
        await server.stop()
    await server.stop()  # idempotent
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


async def test_serve_in_the_current_loop_until_cancelled() -> None:
    health = Health()
    health.set("store", True, "ok")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    ready = asyncio.Event()
    task = asyncio.create_task(serve(create_app(health, Metrics()), "127.0.0.1", port, ready))
    await asyncio.wait_for(ready.wait(), 10)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


async def test_a_port_in_use_is_a_coded_error_not_an_exit() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        server = AdminServer(create_app(Health(), Metrics()), "127.0.0.1", port)
        with pytest.raises(ApplianceError) as err:
            await server.start()
        assert err.value.code == "admin-bind-failed"
        assert str(port) in err.value.message
    await asyncio.sleep(0)  # the loop is still alive


async def test_an_app_that_fails_to_start_is_a_coded_error_not_an_exit() -> None:
    def broken() -> None:
        raise RuntimeError("startup hook failed")

    app = Litestar(route_handlers=[], on_startup=[broken], logging_config=None)
    server = AdminServer(app, "127.0.0.1", 0)
    with pytest.raises(ApplianceError) as err:
        await server.start()
    assert err.value.code == "admin-start-failed"
    await server.stop()
    await asyncio.sleep(0)  # the loop is still alive

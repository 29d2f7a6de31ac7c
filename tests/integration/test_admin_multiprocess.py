"""Under `appliance run`, /metrics merges the metrics of every process (prometheus multiprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

WORKER = """
from appliance.observability.metrics import Metrics
m = Metrics()
m.call_started()
m.call_ended("completed")
m.observe_stage("stt", 0.3)
"""

ADMIN = """
from litestar.testing import TestClient
from appliance.admin.app import create_app
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
health = Health()
health.set("sip", True, "listening")
with TestClient(create_app(health, Metrics())) as client:
    response = client.get("/metrics")
    assert response.status_code == 200
    print(response.text)
"""


def run_python(code: str, metrics_dir: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_metrics_of_all_processes_are_merged(tmp_path: Path) -> None:
    for _ in range(2):
        run_python(WORKER, tmp_path)
    body = run_python(ADMIN, tmp_path)
    assert 'appliance_calls_total{outcome="completed"} 2.0' in body
    assert 'appliance_stage_seconds_bucket{le="0.3",stage="stt"} 2.0' in body
    assert 'appliance_component_up{component="sip"} 1.0' in body

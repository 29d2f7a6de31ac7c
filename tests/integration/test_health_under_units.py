"""Under the systemd units (no supervisor), the admin's /healthz and /metrics see every
unit: the SIP edge and the agent worker report through their health beacons, a unit
that never started, was killed (kill -9) or stopped is down there, and the edge's own
metrics reach /metrics. The three processes run as their units run them: one config,
the units' environment (APPLIANCE_HEALTH_DIR, PROMETHEUS_MULTIPROC_DIR, the edge's
RUNTIME_DIRECTORY and LOGS_DIRECTORY)."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from appliance.observability.beacons import STALE_S
from tests.conftest import REPO, free_port, free_ports

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


class Units:
    """The admin, agent-0 and sip-edge processes of one host, started one by one."""

    def __init__(self, root: Path, models: Path) -> None:
        self.root, var = root, root / "var"
        self.short = Path(tempfile.mkdtemp(prefix="units-"))  # unix sockets: short paths
        self.health_dir = self.short / "appliance-health"
        self.health_dir.mkdir(mode=0o1770)  # as tmpfiles.d/appliance.conf makes it
        self.admin_port, sip_port, worker_port = free_port(), free_port(), free_ports(1)
        self.config = root / "appliance.toml"
        self.config.write_text(
            f'[paths]\nvar_dir = "{var}"\nmodels_dir = "{models}"\n'
            f'[sip]\nhost = "127.0.0.1"\nport = {sip_port}\ntransports = ["udp"]\n'
            f"workers = 1\nworker_port = {worker_port}\ndrain_s = 1\n"
            f"rtp_port = {21000 + (sip_port % 300) * 40}\nrtp_port_range = 40\n"
            f"[admin]\nport = {self.admin_port}\n"
            f'[llm]\napi_key_file = "{var}/keys/llm.key"\n[llm.server]\nenabled = false\n'
            f'[store]\ndb_file = "{var}/appliance.db"\nkey_file = "{var}/keys/db.key"\n'
            f'audit_key_file = "{var}/keys/audit-signing.key"\n'
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def env(self, unit: str) -> dict[str, str]:
        env = {"PATH": "/usr/bin:/bin:/usr/sbin", "PYTHONUNBUFFERED": "1"}
        env["APPLIANCE_HEALTH_DIR"] = str(self.health_dir)  # every unit sets it
        if unit != "sip-edge":  # the agents and the admin share the metrics folder
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.root / "var/run/metrics")
        else:
            (self.short / "edge").mkdir(mode=0o700, exist_ok=True)
            env["RUNTIME_DIRECTORY"] = str(self.short / "edge")
            env["LOGS_DIRECTORY"] = str(self.root / "edge-logs")
        return env

    def start(self, unit: str, *args: str) -> None:
        log = (self.root / f"{unit}.log").open("ab")
        self.procs[unit] = subprocess.Popen(
            [sys.executable, "-m", "appliance", "--config", str(self.config), *args],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=self.env(unit),
        )  # fmt: skip

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.root.glob("*.log"))

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5)

    def health(self) -> tuple[int, dict[str, Any]]:
        response = self.get("/healthz")
        return response.status_code, response.json()["components"]

    def wait_for(
        self, check: Callable[[int, dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: tuple[int, dict[str, Any]] = (0, {})
        while time.monotonic() < deadline:
            try:
                last = self.health()
            except httpx.HTTPError:
                last = (0, {})
            if check(*last):
                return last[1]
            time.sleep(0.5)
        raise AssertionError(f"/healthz never got there: {last}\n{self.logs()}")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        subprocess.run(["rm", "-rf", str(self.short)], check=False)


@contextmanager
def units(root: Path, models: Path) -> Iterator[Units]:
    host = Units(root, models)
    try:
        yield host
    finally:
        host.stop_all()


def metric(text: str, line_start: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def up(name: str) -> str:
    return f'appliance_component_up{{component="{name}"}}'


def test_the_admin_unit_sees_every_unit(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with units(tmp_path, models_dir) as host:
        host.start("admin", "admin")
        # alone, the admin is not "ok": the edge and the worker have not reported
        found = host.wait_for(  # the admin reports itself once it listens
            lambda code, c: code == 503 and "agent-0" in c and c.get("admin", {}).get("ok"), 60
        )
        assert found["sip-edge"]["ok"] is False and found["agent-0"]["ok"] is False
        assert found["sip-edge"]["detail"].startswith("no report in ")
        assert found["store"]["ok"] and found["admin"]["ok"]
        host.start("agent-0", "agent", "--worker", "0")
        host.start("sip-edge", "sip-edge")
        found = host.wait_for(lambda code, c: code == 200, 150)
        assert found["agent-0"]["detail"].startswith("listening on 127.0.0.1:")
        assert found["agent-0-stt"]["ok"] and found["agent-0-tts"]["ok"]
        assert found["sip-edge"] == {"ok": True, "detail": "answering OPTIONS"}
        assert not any(p.name.endswith(".tmp") for p in host.health_dir.iterdir())
        text = host.get("/metrics").text
        assert metric(text, up("agent-0")) == metric(text, up("sip-edge")) == 1.0
        assert metric(text, 'appliance_sip_edge_calls{component="sip-edge"}') == 0.0
        assert metric(text, "appliance_calls_active") == 0.0  # the agent's own metrics

        host.procs["agent-0"].kill()  # kill -9: the worker writes nothing more
        killed = time.monotonic()
        found = host.wait_for(lambda code, c: not c["agent-0"]["ok"], STALE_S + 15)
        assert time.monotonic() - killed >= STALE_S - 6  # its last beacon was up to 5 s old
        assert found["agent-0"]["detail"].startswith("no report for ")
        assert "agent-0-stt" not in found  # the dead worker's "stt ok" does not linger
        text = host.get("/metrics").text
        assert metric(text, up("agent-0")) == 0.0 and metric(text, up("sip-edge")) == 1.0

        host.procs["sip-edge"].send_signal(signal.SIGTERM)  # systemctl stop: it drains
        assert host.procs["sip-edge"].wait(timeout=30) == 0
        found = host.wait_for(lambda code, c: not c["sip-edge"]["ok"], 10)
        assert found["sip-edge"]["detail"] == "stopped"
        host.procs["admin"].send_signal(signal.SIGTERM)
        assert host.procs["admin"].wait(timeout=30) == 0

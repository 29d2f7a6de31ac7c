"""One real appliance (`appliance run` as a child process) shared by the e2e tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port, free_ports

APPLIANCE = [sys.executable, "-m", "appliance"]


@dataclass
class Running:
    config: Path
    var: Path
    sip_port: int
    admin_port: int
    log: Path  # everything the process printed (stdout + stderr)
    proc: subprocess.Popen[bytes]

    @property
    def uri(self) -> str:
        return f"sip:clinic@127.0.0.1:{self.sip_port}"

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*APPLIANCE, "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )

    def calls(self) -> list[dict]:
        out = self.cli("db", "calls", "--limit", "200", "--show-text", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5).text


def write_config(path: Path, var: Path, models: Path) -> tuple[int, int]:
    sip_port, admin_port, llm_port = free_port(), free_port(), free_port()
    path.write_text(
        f"""
[paths]
var_dir = "{var}"
models_dir = "{models}"
[sip]
port = {sip_port}
worker_port = {free_ports(2)}
rtp_port = {20000 + (sip_port % 200) * 100}
[admin]
port = {admin_port}
[llm]
base_url = "http://127.0.0.1:{llm_port}/v1"
api_key_file = "{var}/keys/llm.key"
[llm.server]
port = {llm_port}
[store]
db_file = "{var}/appliance.db"
key_file = "{var}/keys/db.key"
[demo]
front_desk_port = {free_port()}
"""
    )
    return sip_port, admin_port


def wait_healthy(running: Running, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{running.admin_port}/healthz"
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise AssertionError(f"appliance exited early:\n{running.log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"appliance not healthy in {timeout} s:\n{running.log.read_text()[-4000:]}"
    )


@pytest.fixture(scope="session")
def appliance(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("appliance")
    var = root / "var"
    config = root / "appliance.toml"
    sip_port, admin_port = write_config(config, var, models_dir)
    log = root / "appliance.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*APPLIANCE, "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = Running(config, var, sip_port, admin_port, log, proc)
    started = time.monotonic()
    try:
        wait_healthy(running, timeout=240)
        running.ready_s = time.monotonic() - started  # type: ignore[attr-defined]
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("appliance did not stop within 60 s of SIGTERM") from None
    assert code == 0, f"appliance exited with {code}:\n{log.read_text()[-4000:]}"

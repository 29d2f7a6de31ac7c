"""`appliance admin` (the appliance-admin unit): starts alone, READY + WATCHDOG, /healthz."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration


def _messages(sock: socket.socket, until: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(until in m for m in seen):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    return seen


def test_admin_runs_alone_with_sd_notify(tmp_path: Path) -> None:
    var, port = tmp_path / "var", free_port()
    config = tmp_path / "appliance.toml"
    config.write_text(
        f'[paths]\nvar_dir = "{var}"\n[admin]\nport = {port}\n'
        f'[store]\ndb_file = "{var}/appliance.db"\nkey_file = "{var}/keys/db.key"\n'
    )
    notify = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "400000"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "--config", str(config), "admin"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            seen = _messages(sock, "READY=1", 60)
            assert any("READY=1" in m for m in seen), (seen, proc.poll())
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "ok"
            assert body["components"]["store"]["ok"] is True
            assert body["components"]["admin"]["detail"] == f"listening on 127.0.0.1:{port}"
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            assert metrics.status_code == 200
            # the watchdog is pinged at half of WATCHDOG_USEC
            assert any("WATCHDOG=1" in m for m in _messages(sock, "WATCHDOG=1", 5))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
            assert any("STOPPING=1" in m for m in _messages(sock, "STOPPING=1", 2))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert (var / "appliance.db").exists()  # the store was opened (encrypted, key made)
    assert oct((var / "keys" / "db.key").stat().st_mode & 0o777) == "0o400"

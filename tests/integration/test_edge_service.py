"""`appliance sip-edge` (the appliance-sip-edge unit) as a real process under a fake
systemd: NOTIFY_SOCKET, WATCHDOG_USEC and RUNTIME_DIRECTORY set as systemd sets them.

READY once the edge answers; a SIPp call goes through the edge to a SIPp worker;
SIGTERM drains (503 + Retry-After for a new call while the call in progress finishes)
and exits 0; Kamailio dying makes the process exit non-zero; a bad config is a coded
error.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from appliance.edge.kamailio import options_ping
from tests.conftest import REPO, free_port, notify_messages
from tests.integration.test_sip_edge import completed, rejected, sipp, sipp_workers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@contextmanager
def edge_process(
    tmp: Path, worker_port: int, extra: str = ""
) -> Iterator[tuple[subprocess.Popen[str], socket.socket, int, Path]]:
    """`appliance sip-edge` with a temp config; yields (process, notify socket, port, run dir)."""
    port = free_port()
    short = Path(tempfile.mkdtemp(prefix="edge-"))  # unix socket paths must stay short
    run_dir, var = short / "run", tmp / "var"
    run_dir.mkdir(mode=0o700)  # as RuntimeDirectory= makes it
    config = tmp / "appliance.toml"
    config.write_text(
        f'[paths]\nvar_dir = "{var}"\n'
        f'[sip]\nhost = "127.0.0.1"\nport = {port}\nworkers = 1\nworker_port = {worker_port}\n'
        f"drain_s = 8\nretry_after_s = 13\n{extra}"
    )
    env = {"PATH": "/usr/bin:/bin:/usr/sbin", "WATCHDOG_USEC": "1000000"}
    env |= {"RUNTIME_DIRECTORY": str(run_dir), "LOGS_DIRECTORY": str(tmp / "logs")}
    notify = short / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        env["NOTIFY_SOCKET"] = str(notify)
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "--config", str(config), "sip-edge"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield proc, sock, port, run_dir
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            subprocess.run(["rm", "-rf", str(short)], check=False)


def _ready(proc: subprocess.Popen[str], sock: socket.socket) -> list[str]:
    seen = notify_messages(sock, "READY=1", 30)
    assert any("READY=1" in m for m in seen), (seen, proc.poll())
    return seen


def test_edge_unit_ready_routes_a_call_and_drains_on_sigterm(tmp_path: Path) -> None:
    with sipp_workers("uas") as worker, edge_process(tmp_path, worker) as (proc, sock, port, run):
        seen = _ready(proc, sock)
        assert any(f"STATUS=SIP edge on 127.0.0.1:{port}" in m for m in seen)
        assert asyncio.run(options_ping("127.0.0.1", port))
        # the config lies in the runtime directory, private to the unit's user
        assert stat.S_IMODE(run.stat().st_mode) == 0o700
        assert (run / "edge.cfg").is_file() and (run / "edge-rpc.sock").exists()
        assert f"sip:127.0.0.1:{worker};" in (run / "edge-dispatcher.list").read_text()
        completed(sipp(port, "-sn", "uac", "-d", "200"))  # a call through the edge
        assert any("WATCHDOG=1" in m for m in notify_messages(sock, "WATCHDOG=1", 3))

        in_progress = subprocess.Popen(  # a call that is still up when the drain starts
            ["sipp", f"127.0.0.1:{port}", "-nostdin", "-i", "127.0.0.1", "-p", str(free_port()),
             "-mp", str(free_port()), "-m", "1", "-timeout", "20s", "-timeout_error",
             "-sn", "uac", "-d", "3000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        time.sleep(1.0)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert any("STOPPING=1" in m for m in notify_messages(sock, "STOPPING=1", 5))
        rejected(port, 503, True)  # new calls: 503 + Retry-After
        out, _ = in_progress.communicate(timeout=25)
        assert in_progress.returncode == 0, out[-3000:]  # its BYE went through the edge
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 8  # left once the last call ended, not at drain_s
        lines = [json.loads(x) for x in proc.stdout.read().splitlines() if x.startswith("{")]
    msgs = [line["msg"] for line in lines]
    assert (
        msgs.index("sip edge ready")
        < msgs.index("sip edge draining")
        < msgs.index("sip edge stopped")
    )
    assert not asyncio.run(options_ping("127.0.0.1", port, 0.3))  # Kamailio is gone too
    assert (tmp_path / "logs" / "sip-edge.log").is_file()


def test_edge_unit_exits_non_zero_when_kamailio_dies(tmp_path: Path) -> None:
    with sipp_workers("uas") as worker, edge_process(tmp_path, worker) as (proc, sock, _p, _):
        _ready(proc, sock)
        pids = subprocess.run(
            ["pgrep", "-P", str(proc.pid), "kamailio"], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(pids) == 1, pids
        os.kill(int(pids[0]), signal.SIGKILL)
        assert proc.wait(timeout=15) == 3  # EDGE_DIED: systemd restarts the unit


def test_edge_unit_bad_config_is_a_coded_error(tmp_path: Path) -> None:
    tls = f'[sip.tls]\ncert_file = "{tmp_path}/missing.crt"\nkey_file = "{tmp_path}/k.pem"\n'
    with edge_process(tmp_path, free_port(), tls) as (proc, sock, _, _):
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 2
        assert "appliance: error sip-tls-file-missing:" in out
        assert not any("READY=1" in m for m in notify_messages(sock, "READY=1", 0.2))

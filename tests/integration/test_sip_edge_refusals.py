"""The INVITEs the SIP edge itself refuses, counted: `appliance sip-edge` (a real Kamailio)
with its one agent worker down, SIPp calling, the count read from the unit's health
beacon by the admin's BeaconBoard and served as /metrics serves it.

The dispatcher marks the dead worker inactive after a failed OPTIONS probe; a call then
gets the configured 486 from the edge itself (reason no-worker), and the source ACL's
403 is a policy refusal (reason acl). A call that is not an initial INVITE (OPTIONS) is
never counted.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from appliance.edge.rpc import rpc_call
from appliance.observability.beacon_board import BeaconBoard
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from tests.conftest import free_port, notify_messages
from tests.integration.test_edge_service import _ready, edge_process
from tests.integration.test_sip_edge import rejected

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def pause(sock: socket.socket, seconds: float = 0.5) -> None:
    """Wait, reading the unit's sd_notify datagrams meanwhile: unread, ten of them would
    block its sends (net.unix.max_dgram_qlen) and with them its beacons."""
    notify_messages(sock, "never sent", seconds)


def wait_worker_inactive(run_dir: Path, sock: socket.socket, deadline_s: float = 40.0) -> None:
    """Until the dispatcher's probe marked the (only) worker inactive ("I" in its flags)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        reply = rpc_call(run_dir / "edge-rpc.sock", "dispatcher.list", []) or {}
        if '"FLAGS": "I' in str(reply).replace("'", '"'):
            return
        pause(sock)
    raise AssertionError(f"the dead worker was never marked inactive: {reply}")


def exposition(health_dir: Path) -> str:
    """/metrics as the admin serves the edge's beacon."""
    board = BeaconBoard(health_dir, ["sip-edge"], Health())
    board.refresh()
    metrics = Metrics()
    metrics.add_collector(board)
    return generate_latest(metrics.registry).decode()


def wait_metric(health_dir: Path, sock: socket.socket, line: str, deadline_s: float = 30.0) -> str:
    deadline = time.monotonic() + deadline_s
    text = ""
    while time.monotonic() < deadline:
        text = exposition(health_dir)
        if line in text:
            return text
        pause(sock)
    beacons = {p.name: p.read_text()[:2000] for p in health_dir.glob("*.json")}
    raise AssertionError(f"{line!r} not in /metrics (beacons: {beacons}):\n{text}")


def test_the_edge_counts_an_invite_it_refuses_with_no_worker_up(tmp_path: Path) -> None:
    acl = 'allowed_sources = ["127.0.0.1/32"]\nacl_reply = 403\n'
    health = tmp_path / "var" / "run" / "health"  # no APPLIANCE_HEALTH_DIR: under var
    with edge_process(tmp_path, free_port(), acl) as (proc, sock, port, run_dir):
        _ready(proc, sock)
        wait_worker_inactive(run_dir, sock)
        rejected(port, 486, False)  # every worker down: the configured rejection
        rejected(port, 486, False)
        rejected(port, 403, False, source="127.0.0.2")  # not an allowed source
        labels = 'code="486",component="sip-edge",reason="no-worker"'
        text = wait_metric(health, sock, f"appliance_sip_edge_refused_total{{{labels}}} 2.0")
        acl_line = 'appliance_sip_edge_refused_total{code="403",component="sip-edge",reason="acl"}'
        assert f"{acl_line} 1.0" in text
        assert "appliance_sip_edge_start_time_seconds{" in text
        started = [x for x in text.splitlines() if x.startswith("appliance_sip_edge_start_time")]
        assert abs(float(started[0].split()[-1]) - time.time()) < 120
        refused = [x for x in text.splitlines() if x.startswith("appliance_sip_edge_refused_total")]
        assert len(refused) == 2, refused  # the OPTIONS probes and pings counted nowhere
        assert "127.0.0" not in "\n".join(refused)  # no address in a label

"""systemd notifications: READY and watchdog pings reach $NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from appliance.services.lifecycle import sd_notify, watchdog

pytestmark = pytest.mark.unit


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(1024).decode())
        except BlockingIOError:
            return out


def test_a_reader_that_does_not_read_never_blocks_the_sender(
    notify_socket: socket.socket,
) -> None:
    """A unit's notifications go on when nothing reads them (a full queue drops one): the
    blocking send froze the SIP edge unit, beacons included, after ten unread ones."""
    done = asyncio.run(asyncio.wait_for(asyncio.to_thread(_notify_many, 200), 10.0))
    assert done == 200
    assert 0 < len(received(notify_socket)) <= 200


def _notify_many(count: int) -> int:
    for n in range(count):
        sd_notify(f"STATUS=ping {n}")
    return count


def test_ready(notify_socket: socket.socket) -> None:
    sd_notify("READY=1")
    assert received(notify_socket) == ["READY=1"]


async def test_watchdog_pings_at_half_the_interval(
    notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # 0.1 s: ping every 0.05 s
    stop = asyncio.Event()
    task = asyncio.create_task(watchdog(stop))
    await asyncio.sleep(0.23)
    stop.set()
    await asyncio.wait_for(task, 1.0)
    pings = received(notify_socket)
    assert 3 <= len(pings) <= 7 and set(pings) == {"WATCHDOG=1"}


async def test_no_watchdog_without_systemd(
    notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    await asyncio.wait_for(watchdog(asyncio.Event()), 1.0)
    assert received(notify_socket) == []

"""Process lifecycle shared by every long-running process (agent, supervisor, SIP edge,
admin): systemd readiness and watchdog pings, SIGINT/SIGTERM, the private var/ folders.

Standard library only, so that any process's entry point can use it without importing
another process's composition root.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from pathlib import Path


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) about readiness; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.setblocking(False)  # a reader that does not read must not stop the process
        with contextlib.suppress(BlockingIOError):  # its queue is full: this one is dropped
            sock.send(message.encode())


async def watchdog(stop: asyncio.Event) -> None:
    """Ping systemd's watchdog (WatchdogSec=) at half its interval until `stop`."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return
    interval = int(usec) / 2_000_000
    while not stop.is_set():
        sd_notify("WATCHDOG=1")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def ensure_dirs(var_dir: Path) -> None:
    for sub in ("", "log", "run", "keys"):
        (var_dir / sub).mkdir(parents=True, exist_ok=True, mode=0o700)

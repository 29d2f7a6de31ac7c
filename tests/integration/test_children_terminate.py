"""Stopping a child process stops its whole session: a child that ignores SIGTERM is
killed after the grace time, and the children it forked (as Kamailio forks its workers)
do not live on as orphans."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from appliance.services.children import spawn, terminate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

STUBBORN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:  # a worker that also ignores SIGTERM
    open(sys.argv[1], "w").write(str(os.getpid()))
    while True:
        time.sleep(0.1)
while True:
    time.sleep(0.1)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"  # a zombie waiting for its reaper is gone for our purpose


async def test_a_stubborn_child_and_its_forked_workers_are_all_stopped(tmp_path: Path) -> None:
    marker = tmp_path / "worker.pid"
    proc = await spawn([sys.executable, "-c", STUBBORN, str(marker)], tmp_path / "child.log")
    deadline = time.monotonic() + 20
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline, "the child never forked its worker"
        await asyncio.sleep(0.05)
    worker = int(marker.read_text())
    assert alive(worker)
    await terminate(proc, grace_s=0.5)
    deadline = time.monotonic() + 5
    while alive(worker) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not alive(worker), "the forked worker outlived its stopped parent"

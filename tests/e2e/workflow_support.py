"""Helpers for the workflow e2e tests: an appliance with [workflows] on and a front desk,
a pjsua2 caller in this process that follows REFERs (the product's synthetic caller,
appliance/simulate/caller.py), and a screen-pop SSE listener."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from appliance.services.app_db import MIGRATIONS
from appliance.simulate.caller import Caller, Voice, dial
from appliance.store.db import Database
from tests.conftest import REPO
from tests.e2e.conftest import write_config

__all__ = ["Caller", "Desk", "ScreenPopListener", "Voice", "dial", "open_store"]

ASSETS = REPO / "tests" / "assets"


def workflow_config(path: Path, var: Path, models: Path, desk_port: int) -> tuple[int, int]:
    """The e2e config, one worker, [workflows] on with the test KB and front desk."""
    sip_port, admin_port = write_config(path, var, models)
    text = path.read_text().replace("[sip]\n", "[sip]\nworkers = 1\n", 1)
    # the test's own desk (tests/e2e/front_desk.py) takes the transfers, not the demo desk
    text = text.replace("[demo]\n", "[demo]\nfront_desk = false\n", 1)
    text += f"""
[workflows]
enabled = true
kb_file = "{ASSETS / "kb.toml"}"
front_desk_uri = "sip:desk@127.0.0.1:{desk_port}"
understand_timeout_s = 4.0  # a loaded 2-core CI box: the keyword rules decide sooner
"""
    path.write_text(text)
    return sip_port, admin_port


class Desk:
    """tests/e2e/front_desk.py as a subprocess; its JSON events arrive on a queue."""

    def __init__(self, port: int, ring_s: float = 2.0) -> None:
        script = REPO / "tests" / "e2e" / "front_desk.py"
        rtp = 30000 + port % 1000 * 20
        cmd = [sys.executable, str(script), "--port", str(port), "--rtp-port", str(rtp)]
        self.proc = subprocess.Popen(
            [*cmd, "--ring-s", str(ring_s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next("listening", 20)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def next(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event["event"] == kind:
                return event
        raise AssertionError(f"the front desk sent no {kind!r} event in {timeout} s")

    def mode(self, mode: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"mode {mode}\n")
        self.proc.stdin.flush()
        self.next("mode")

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=20)


class ScreenPopListener:
    """An SSE client of /screenpop/events; each packet with the monotonic time it came."""

    def __init__(self, admin_port: int, token_file: Path) -> None:
        self.url = f"http://127.0.0.1:{admin_port}/screenpop/events"
        self.token = token_file.read_text().strip()
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.connected = asyncio.Event()
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        headers = {"authorization": f"Bearer {self.token}"}
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", self.url, headers=headers) as response,
        ):
            assert response.status_code == 200
            self.connected.set()
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "handoff":
                    self.received.append((time.monotonic(), json.loads(line.split(":", 1)[1])))

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def open_store(var: Path) -> Database:
    """The running appliance's store, opened beside it (WAL: readers do not block it)."""
    key = (var / "keys" / "db.key").read_text().strip()
    return Database.open(var / "appliance.db", key, MIGRATIONS)

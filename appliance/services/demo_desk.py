"""The demo front desk (appliance/demo/desk.py) as a child of `appliance run`, when
`[demo] front_desk` is on.

It never holds up start-up or shutdown: it is spawned without waiting for it to listen
(it renders its line and binds on its own), and stopped with a short grace, then killed.
When it cannot start or exits by itself, that is logged with a code and the appliance
goes on without it (no restart, and not a /healthz component: calls do not need it). Its
log lines go to the console of `appliance run`, so a person trying the demo sees each
transfer arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from appliance.config import Settings
from appliance.demo.config import desk_rtp_port
from appliance.services.children import spawn, terminate

logger = logging.getLogger(__name__)
STOP_GRACE_S = 3.0  # s after SIGTERM before the desk is killed


class DemoDeskChild:
    def __init__(self, settings: Settings, config: Path | None) -> None:
        self._settings = settings
        self._config = config
        self.proc: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False

    def argv(self) -> list[str]:
        config = ["--config", str(self._config)] if self._config else []
        port, rtp = self._settings.demo.front_desk_port, desk_rtp_port(self._settings)
        ports = ["--port", str(port), "--rtp-port", str(rtp)]
        return [sys.executable, "-m", "appliance.demo.desk", *config, *ports]

    async def start(self) -> None:
        """Spawn the desk; returns at once (a failure is logged, never raised)."""
        try:
            self.proc = await spawn(self.argv(), None)
        except OSError as exc:
            logger.error(
                "demo front desk not started",
                extra={
                    "stage": "demo",
                    "code": "demo-desk-start-failed",
                    "error": type(exc).__name__,
                },
            )
            return
        self._watcher = asyncio.create_task(self._watch(self.proc))

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        status = await proc.wait()
        if not self._stopping:
            logger.error(
                "demo front desk exited; the appliance goes on without it",
                extra={"stage": "demo", "code": "demo-desk-exited", "status": status},
            )

    async def stop(self) -> None:
        self._stopping = True
        if self.proc is not None:
            await terminate(self.proc, grace_s=STOP_GRACE_S)
        if self._watcher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

"""Serve the admin app with uvicorn inside the current asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from litestar import Litestar

from appliance.errors import ApplianceError


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # the supervisor owns SIGINT/SIGTERM
        yield


class AdminServer:
    def __init__(self, app: Litestar, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, access_log=False, log_config=None, lifespan="on"
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 10.0) -> None:
        self._task = asyncio.create_task(self._server.serve())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._server.started:
            if self._task.done() or loop.time() > deadline:
                raise ApplianceError("admin-start-failed", "the admin server did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None

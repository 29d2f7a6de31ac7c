"""Serve the admin app with uvicorn inside the current asyncio loop.

`appliance run` hosts it in-process beside the agent; `appliance admin` runs it alone.
The caller owns SIGINT/SIGTERM (uvicorn's own signal handlers are not installed), the
access log is off, and uvicorn's logging goes through the appliance's JSON handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from litestar import Litestar

from appliance.errors import ApplianceError

logger = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_S = 5  # s for open requests to finish on stop()


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # the supervisor owns SIGINT/SIGTERM
        yield


class AdminServer:
    """One uvicorn server on (host, port); port 0 picks a free port (see `.port`)."""

    def __init__(
        self, app: Litestar, host: str, port: int, tls: tuple[str, str] | None = None
    ) -> None:
        """`tls`: (certificate file, key file) to serve HTTPS."""
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
            access_log=False,
            log_config=None,
            lifespan="on",
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = _Server(config)
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound TCP port (after start)."""
        if self._sock is None:
            raise ApplianceError("admin-not-started", "the admin server is not running")
        return int(self._sock.getsockname()[1])

    async def serve(self, ready: asyncio.Event | None = None) -> None:
        """Serve until `stop()` or cancellation; sets `ready` once listening."""
        await self.start()
        task = self._task
        if ready is not None:
            ready.set()
        try:
            if task is not None:
                await asyncio.shield(task)
        finally:
            await self.stop()

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start listening.

        Raises ApplianceError "admin-bind-failed" (address in use, bad host) or
        "admin-start-failed" (the app did not start), never SystemExit.
        """
        if self._task is not None:
            return
        self._sock = _bind(self._server.config.host, self._server.config.port)
        self._task = asyncio.create_task(self._run(self._sock), name="admin-server")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._server.started:
            if self._task.done() or loop.time() > deadline:
                await self.stop()
                raise ApplianceError("admin-start-failed", "the admin server did not start")
            await asyncio.sleep(0.02)
        host, port = self._sock.getsockname()[:2]
        logger.info("admin listening", extra={"host": host, "port": port})

    async def stop(self) -> None:
        """Stop accepting, let open requests finish (bounded), and wait for the server."""
        task, self._task = self._task, None
        sock, self._sock = self._sock, None
        try:
            if task is not None:
                self._server.should_exit = True
                await _finish(task, self._server)
        finally:
            if sock is not None:
                sock.close()

    async def _run(self, sock: socket.socket) -> None:
        try:
            await self._server.serve(sockets=[sock])
        except SystemExit as exc:
            # uvicorn calls sys.exit() when startup fails: keep that inside this task
            raise ApplianceError("admin-start-failed", "the admin server could not start") from exc


async def _finish(task: asyncio.Task[None], server: uvicorn.Server) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(task), GRACEFUL_SHUTDOWN_S + 2.0)
    except TimeoutError:
        server.force_exit = True
        await asyncio.gather(task, return_exceptions=True)
    except ApplianceError:
        pass  # a failed start has already been reported by start()


def _bind(host: str, port: int) -> socket.socket:
    """Bind here rather than in uvicorn, which would sys.exit() on a busy port."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        sock = socket.socket(family[0][0], socket.SOCK_STREAM)
    except OSError as exc:
        raise ApplianceError("admin-bind-failed", f"cannot resolve {host}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ApplianceError(
            "admin-bind-failed", f"cannot listen on {host}:{port}: {exc.strerror}"
        ) from exc
    return sock


async def serve(app: Litestar, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve `app` on (host, port) in this loop until cancelled, then shut down cleanly."""
    await AdminServer(app, host, port).serve(ready)

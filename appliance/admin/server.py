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

from appliance.config import Settings
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


async def run_standalone(settings: Settings) -> int:
    """`appliance admin`: the admin app alone (unit appliance-admin), sd_notify + watchdog."""
    from appliance.admin.app import create_app
    from appliance.admin.screenpop import ScreenPop
    from appliance.governance.audit_anchor import (
        anchor_periodically,
        export_logged,
        exporter_for,
    )
    from appliance.governance.retention import RetentionPolicy
    from appliance.governance.retention_job import purge_periodically
    from appliance.observability.health import Health
    from appliance.observability.logs import configure_logging
    from appliance.observability.metrics import Metrics
    from appliance.services.app_db import open_store
    from appliance.services.lifecycle import (
        ensure_dirs,
        install_signal_handlers,
        sd_notify,
        watchdog,
    )

    configure_logging(settings.log.level)
    ensure_dirs(settings.var_dir)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    db, repo = open_store(settings)
    anchors = exporter_for(settings, db)
    health, metrics = Health(), Metrics()
    health.set("store", True, "sqlcipher")
    # Under systemd there is no supervisor: the admin unit serves the screen-pop, runs
    # the retention purge (at start-up, then every [retention] purge_every_h) and exports
    # the audit anchors (every [store] audit_anchor_every_h and each new checkpoint).
    app = create_app(health, metrics, repo, ScreenPop.from_settings(settings, db))
    server = AdminServer(app, settings.admin.host, settings.admin.port, tls_files(settings))
    try:
        await server.start()
        health.set("admin", True, f"listening on {settings.admin.host}:{server.port}")
        sd_notify(f"READY=1\nSTATUS=admin on {settings.admin.host}:{server.port}")
        pinger = asyncio.create_task(watchdog(stop))
        every_s = settings.retention.purge_every_h * 3600.0
        purger = asyncio.create_task(
            purge_periodically(
                db, RetentionPolicy.from_settings(settings), every_s, stop, actor="admin"
            )
        )
        anchorer = asyncio.create_task(anchor_periodically(anchors, stop))
        await stop.wait()
        await asyncio.gather(pinger, purger, anchorer)
        sd_notify("STOPPING=1")
    finally:
        await server.stop()
        if anchors.every_s > 0:
            await export_logged(anchors.anchor_now)
        db.close()
        logger.info("admin stopped", extra={"stage": "admin"})
    return 0


def tls_files(settings: Settings) -> tuple[str, str] | None:
    """(certificate, key) when [admin] tls_cert_file is set; the key from the credential
    `tls.key` (decrypted by systemd into a private ramfs), else [admin] tls_key_file."""
    from appliance.store.keys import credential_path

    admin = settings.admin
    if not admin.tls_cert_file:
        return None
    key = credential_path("tls.key") or (
        settings.path(admin.tls_key_file) if admin.tls_key_file else None
    )
    cert = settings.path(admin.tls_cert_file)
    if key is None or not key.is_file() or not cert.is_file():
        raise ApplianceError(
            "admin-tls-missing",
            f"HTTPS needs {cert} and the credential tls.key or [admin] tls_key_file",
        )
    return str(cert), str(key)

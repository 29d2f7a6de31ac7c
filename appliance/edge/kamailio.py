"""The SIP edge: Kamailio (Debian) in front of the agent workers.

One pjsua2 endpoint holds at most 4 calls (the wheel's compile-time PJSUA_MAX_CALLS),
so the appliance runs several agent workers on loopback ports and Kamailio listens on
the public SIP address, spreading new calls over the workers (round robin, failing over
on 486/503/timeout) and staying in the signalling path (record-route). Media (RTP) goes
straight between the caller and the worker. The edge also applies the source ACL and
per-source flood limits to every request (appliance/edge/policy.py), relays in-dialog
requests from the network to the workers only, lets SDES keys cross TLS only, refuses
requests too big for a worker (513), a global new-call rate towards the workers, the
rejection when every worker is full, and drain (new INVITEs refused, set over its
JSON-RPC socket).

The configuration is rendered in appliance/edge/config.py; this module runs
Kamailio and talks to it. `render`, `worker_ports` and `options_ping` stay importable
from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from pathlib import Path

from appliance.config import Settings
from appliance.edge.config import (
    registration_db,
    render,
    render_dispatcher,
    worker_ports,
)
from appliance.edge.log import copy_redacted
from appliance.edge.options import options_ping
from appliance.edge.refusals import Totals, read_refusals
from appliance.edge.registration import Registrations, write_empty_table
from appliance.edge.rpc import rpc_call
from appliance.edge.tls import check_tls_files, tls_enabled, warn_if_unverified
from appliance.errors import TelephonyError
from appliance.observability.health import Health
from appliance.services.children import _die_with_parent, terminate

__all__ = ["SipEdge", "options_ping", "render", "render_dispatcher", "worker_ports"]

logger = logging.getLogger(__name__)


class SipEdge:
    """Kamailio as a child process, configured from the settings."""

    def __init__(
        self, settings: Settings, run_dir: Path, log_file: Path, health: Health | None = None
    ) -> None:
        if tls_enabled(settings.sip):  # a bad certificate fails start-up at once (ConfigError)
            check_tls_files(settings.sip.tls)
            warn_if_unverified(settings.sip.tls)
        self._settings = settings
        self._run_dir = run_dir
        self._log_file = log_file
        self._proc: asyncio.subprocess.Process | None = None
        self._copier: asyncio.Task[None] | None = None  # Kamailio's output -> log file
        self.started_at = 0.0  # UNIX s of Kamailio's start: the epoch of its counters
        # [[sip.registrations]]: registered by the edge (appliance/edge/registration.py)
        self.registrations = Registrations(settings.sip, self._rpc, health)
        self._registering: asyncio.Task[None] | None = None
        self._stop_registering = asyncio.Event()

    def write_config(self) -> Path:
        self._run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        dispatcher = self._run_dir / "edge-dispatcher.list"
        dispatcher.write_text(render_dispatcher(worker_ports(self._settings)))
        config = self._run_dir / "edge.cfg"
        config.write_text(render(self._settings, dispatcher, self.rpc_socket))
        if self._settings.sip.registrations:
            write_empty_table(registration_db(self.rpc_socket))
        return config

    async def start(self) -> None:
        binary = shutil.which("kamailio", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
        if binary is None:
            raise TelephonyError("edge-missing", "kamailio is not installed (Debian: kamailio)")
        config = self.write_config()
        await self._check(binary, config)
        argv = [binary, "-f", str(config), "-DD", "-E", "-m", "64", "-M", "8"]
        self.started_at = time.time()
        self._proc = proc = await asyncio.create_subprocess_exec(
            *argv,
            "-Y",
            str(self._run_dir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        assert proc.stdout is not None
        self._copier = asyncio.create_task(copy_redacted(proc.stdout, self._log_file))
        logger.info("sip edge starting", extra={"stage": "edge", "pid": proc.pid})
        if self.registrations.accounts:
            self._stop_registering.clear()
            self._registering = asyncio.create_task(self.registrations.run(self._stop_registering))

    async def _check(self, binary: str, config: Path) -> None:
        proc = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            "-f",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            tail = out.decode(errors="replace").strip().splitlines()[-3:]
            raise TelephonyError("edge-config-invalid", " | ".join(tail))

    @property
    def port(self) -> int:
        """The public SIP port."""
        return self._settings.sip.port

    @property
    def rpc_socket(self) -> Path:
        return self._run_dir / "edge-rpc.sock"

    def refusals(self) -> Totals | None:
        """The initial INVITEs the edge refused since it started, by (status, reason)
        (appliance/edge/refusals.py); None when it does not answer (blocking)."""
        return read_refusals(self.rpc_socket) if self.running() else None

    def _rpc(self, method: str, params: list[object]) -> dict[str, object] | None:
        return rpc_call(self.rpc_socket, method, params)

    async def _stop_registrations(self, unregister: bool) -> None:
        task, self._registering = self._registering, None
        if task is None:
            return
        self._stop_registering.set()
        await task
        if unregister and self.running():
            await asyncio.to_thread(self.registrations.unregister_all)

    async def drain(self) -> bool:
        """Stop taking new calls (503 + Retry-After); dialogs in progress go on.

        Returns False if the edge did not confirm (not running, or no RPC answer).
        """
        if not self.running():
            return False
        await self._stop_registrations(unregister=True)  # the registrar stops sending calls
        reply = await asyncio.to_thread(
            rpc_call, self.rpc_socket, "htable.seti", ["state", "draining", 1]
        )
        ok = reply is not None and "error" not in reply
        logger.info("sip edge draining", extra={"stage": "edge", "confirmed": ok})
        return ok

    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def stop(self, grace_s: float = 10.0) -> None:
        await self._stop_registrations(unregister=True)
        proc, self._proc = self._proc, None
        if proc is not None:
            code = await terminate(proc, grace_s)
            logger.info("sip edge stopped", extra={"stage": "edge", "code": code})
        copier, self._copier = self._copier, None
        if copier is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(copier, grace_s)

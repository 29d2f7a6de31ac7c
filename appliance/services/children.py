"""Child processes of `appliance run`: spawned in their own session (so Ctrl-C reaches
only the supervisor, which stops them in order), killed if the supervisor dies, and
reporting readiness through a systemd-style notify socket."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def spawn(
    argv: list[str], log_file: Path | None, env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start `argv`; its stdout and stderr go to `log_file` (None: to this process's own,
    e.g. the console of `appliance run`)."""
    if log_file is None:
        return await _exec(argv, None, env)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        return await _exec(argv, log, env)


async def _exec(
    argv: list[str], out: IO[bytes] | None, env: Mapping[str, str] | None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        env=dict(env) if env is not None else None,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


async def terminate(proc: asyncio.subprocess.Process, grace_s: float = 15.0) -> int:
    """SIGTERM, then SIGKILL after `grace_s`; then whatever is left of the child's own
    session (process group): a child killed by SIGKILL cannot stop its own children
    (Kamailio's workers went on spinning as orphans after a stuck start was killed)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    _kill_group(proc.pid)
    return proc.returncode if proc.returncode is not None else -1


def _kill_group(leader: int) -> None:
    """SIGKILL the process group `leader` led (children here start their own session, so
    its id is their pid); nothing when it is gone or was never a group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)


class NotifySocket:
    """The receiving end of sd_notify() for one child (READY=1, STATUS=...)."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.setblocking(False)
        self.ready = asyncio.Event()
        self.status = ""
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._read)

    def _read(self) -> None:
        with contextlib.suppress(BlockingIOError):
            data = self._sock.recv(4096).decode("utf-8", "replace")
            for line in data.splitlines():
                key, _, value = line.partition("=")
                if key == "READY" and value == "1":
                    self.ready.set()
                elif key == "STATUS":
                    self.status = value[:200]
                elif key == "STOPPING":
                    self.ready.clear()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
        self._sock.close()
        self.path.unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        return {**os.environ, "NOTIFY_SOCKET": str(self.path)}

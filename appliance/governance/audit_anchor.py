"""Audit anchors: the latest signed checkpoint exported where the appliance cannot rewrite it.

A deleted tail of the audit log (its checkpoints with it) leaves a chain that verifies on
its own; only a checkpoint kept elsewhere shows that records are missing. The running
appliance signs the end of the chain every `[store] audit_anchor_every_h`, exports each
new checkpoint (those signed every `audit_checkpoint_every` records too, within a minute)
and the end once more when it stops; `appliance audit anchor` and `audit export` do it on
demand. Each anchor goes, as one JSON line (sequence number, chain hash, time, key id,
signature: never PHI), to

- the anchor file: opened O_APPEND for every line. On a host the file is made append-only
  (`chattr +a`, in a root-owned folder: see docs/security.md), so the appliance, which
  lacks CAP_LINUX_IMMUTABLE, can add lines but not change or remove them;
- the management network's syslog (`audit_anchor_syslog`, RFC 5424 over UDP), off the box.

`appliance audit verify` reads every anchor in the file by itself (appliance/cli/governance.py).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
import struct
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from logging.handlers import SysLogHandler
from pathlib import Path
from typing import Protocol

from appliance.addresses import host_port
from appliance.config import Settings
from appliance.errors import ApplianceError, ConfigError, StoreError
from appliance.store.audit import AuditLog, anchor_line, latest_checkpoint
from appliance.store.audit_chain import Checkpoint
from appliance.store.db import Database

logger = logging.getLogger(__name__)

POLL_S = 60.0  # s between looks for a checkpoint signed by the store's writers
_FS_IOC_GETFLAGS = 0x80086601  # linux/fs.h (64-bit)
_FS_APPEND_FL = 0x00000020


class AnchorSink(Protocol):
    name: str  # where the anchors go, for messages ("file PATH", "syslog HOST:PORT")

    def write(self, line: str) -> None:
        """Send one anchor line; StoreError with a code when it cannot."""


def anchor_path(settings: Settings) -> Path:
    value = settings.store.audit_anchor_file
    return settings.path(value) if value else settings.var_dir / "audit" / "anchors.jsonl"


class AnchorFile:
    """The anchor file: appended to only (O_APPEND), one fsync'ed line per anchor."""

    def __init__(self, path: Path, make_folder: bool = False) -> None:
        self.path, self.name = path, f"file {path}"
        self._make_folder = make_folder

    def check(self) -> None:
        """A configured file's folder must exist (it is made apart from the appliance)."""
        if self._make_folder:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.parent.is_dir() or (self.path.exists() and not self.path.is_file()):
            raise ConfigError(
                "config-audit-anchor-file",
                f"{self.path}: needs an existing folder and a regular file (or none yet)",
            )

    def write(self, line: str) -> None:
        try:
            fd = _open_append(self.path)
            try:
                data = line.encode()
                if not _ends_a_line(fd):  # a line cut short (power loss) stays on its own
                    data = b"\n" + data
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(
                "audit-anchor-file-failed", f"{self.path}: {exc.strerror or type(exc).__name__}"
            ) from exc

    def append_only(self) -> bool | None:
        """Whether the file carries the append-only attribute (None: cannot tell)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            raw = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, bytes(8))
        except OSError:
            return None
        finally:
            os.close(fd)
        return bool(struct.unpack("=i", raw[:4])[0] & _FS_APPEND_FL)


def _open_append(path: Path) -> int:
    flags = os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags | os.O_RDWR, 0o600)
    except PermissionError:  # allowed to append but not to read: no check of the last byte
        return os.open(path, flags | os.O_WRONLY, 0o600)


def _ends_a_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    if size == 0:
        return True
    try:
        return os.pread(fd, 1, size - 1) == b"\n"
    except OSError:
        return True


class _Handler(SysLogHandler):
    """The standard library's syslog handler, keeping the error instead of printing it."""

    failure: BaseException | None = None

    def handleError(self, record: logging.LogRecord) -> None:
        self.failure = sys.exc_info()[1]


class SyslogSink:
    """Anchors to the management network's syslog server: RFC 5424 over UDP."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port, self.name = host, port, f"syslog {host}:{port}"

    def message(self, line: str) -> str:
        """The RFC 5424 header after <PRI> (which the handler adds), then the line."""
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        host = socket.gethostname() or "-"
        return f"1 {stamp} {host} appliance {os.getpid()} audit-anchor - {line.strip()}"

    def write(self, line: str) -> None:
        failure: BaseException | None
        try:
            handler = _Handler((self.host, self.port), SysLogHandler.LOG_AUTH, socket.SOCK_DGRAM)
        except OSError as exc:
            failure = exc
        else:
            handler.append_nul = False
            message = self.message(line)
            handler.emit(logging.LogRecord("audit", logging.INFO, "", 0, message, None, None))
            handler.close()
            failure = handler.failure
        if failure is not None:
            raise StoreError(
                "audit-anchor-syslog-failed", f"{self.host}:{self.port}: {type(failure).__name__}"
            )


def configured_sinks(settings: Settings) -> list[AnchorSink]:
    """The anchor file (checked) and, when set, the syslog server."""
    anchor_file = AnchorFile(
        anchor_path(settings), make_folder=not settings.store.audit_anchor_file
    )
    anchor_file.check()
    sinks: list[AnchorSink] = [anchor_file]
    address = host_port(settings.store.audit_anchor_syslog)
    if address is not None:
        sinks.append(SyslogSink(*address))
    return sinks


class AnchorExporter:
    """Signs the end of the chain every `every_s` (on `clock`) and exports every
    checkpoint newer than the last one exported. Blocking: run it on a worker thread."""

    def __init__(
        self,
        db: Database,
        sinks: Sequence[AnchorSink],
        every_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every_s = every_s
        self._db, self._sinks, self._clock = db, list(sinks), clock
        self._signed_at: float | None = None
        self._exported = 0  # seq of the last checkpoint every sink took

    def tick(self) -> Checkpoint | None:
        """Sign the end when due; export the newest checkpoint if it is new."""
        now = self._clock()
        if self._signed_at is None or now - self._signed_at >= self.every_s:
            AuditLog(self._db).checkpoint()
            self._signed_at = now
        return self._export_newest()

    def anchor_now(self) -> Checkpoint | None:
        """Sign the end of the chain and export it (on demand, and when stopping)."""
        AuditLog(self._db).checkpoint()
        return self._export_newest()

    def _export_newest(self) -> Checkpoint | None:
        cp = self._db.query(latest_checkpoint)
        if cp is None or cp.seq <= self._exported:
            return None
        line = anchor_line(cp, time.time())
        failures: list[StoreError] = []
        for sink in self._sinks:
            try:
                sink.write(line)
            except StoreError as exc:
                failures.append(exc)
        if failures:  # tried again at the next tick (a second line is harmless)
            raise failures[0]
        self._exported = cp.seq
        return cp


def exporter_for(settings: Settings, db: Database) -> AnchorExporter:
    """The running appliance's exporter (ConfigError when the anchor file cannot be)."""
    every_s = settings.store.audit_anchor_every_h * 3600.0
    return AnchorExporter(db, configured_sinks(settings), every_s)


Report = Callable[[bool, str], None]  # (ok, PHI-free detail): the anchors' health entry


async def anchor_periodically(
    exporter: AnchorExporter,
    stop: asyncio.Event,
    poll_s: float = POLL_S,
    report: Report | None = None,
) -> None:
    """Export now, then look every `poll_s` (at most every_s) until `stop` (0: never);
    each outcome goes to `report` (the "audit-anchor" entry of /healthz)."""
    if exporter.every_s <= 0:
        return
    while not stop.is_set():
        await export_logged(exporter.tick, report)
        try:
            await asyncio.wait_for(stop.wait(), min(poll_s, exporter.every_s))
        except TimeoutError:
            continue


async def export_logged(
    export: Callable[[], Checkpoint | None], report: Report | None = None
) -> None:
    """Run one export on a worker thread; a failure is logged with its code only."""
    try:
        cp = await asyncio.to_thread(export)
    except ApplianceError as exc:
        logger.error("audit anchor failed", extra={"stage": "audit", "code": exc.code})
        if report is not None:
            report(False, f"{exc.code}: the anchors are not being exported")
    else:
        if cp is not None:
            logger.info("audit anchor exported", extra={"stage": "audit", "seq": cp.seq})
        if report is not None:
            report(True, "exported" if cp is None else f"exported up to record {cp.seq}")

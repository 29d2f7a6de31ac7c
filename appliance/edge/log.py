"""Kamailio's log, redacted on its way to the edge's log file.

Kamailio's parser reports a malformed message with the whole message (headers and
body, so caller numbers and anything else a sender put there) and quotes the offending
header in other errors; no configuration silences that in 5.6. Every line therefore
goes through `redact`: only Kamailio's own log lines are kept, and their text is cut
at the first quoted part (`<...` or `[...`).

The file rotates by size (stdlib `RotatingFileHandler`: `sip-edge.log.1` ... `.BACKUPS`,
a line never split across two files) and it and its old copies are owner-only (0600).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

# " 2(1389) ERROR: <core> [core/parser/msg_parser.c:749]: parse_msg(): text"
# " 1(1388) NOTICE: <script>: text"
_LINE = re.compile(r"^\s*\d+\(\d+\) [A-Z]+: ")
_ORIGIN = re.compile(r"^((?:<[\w-]+>|[\w-]+)(?: \[[^\]]*\])?: (?:\w+\(\): )?)")
MAX_LINE = 300  # characters kept of one log line
MAX_BYTES = 10 * 1024 * 1024  # size at which the file rotates
BACKUPS = 5  # old files kept: at most (BACKUPS + 1) x MAX_BYTES on disk


def redact(line: str) -> str | None:
    """The line as it may be logged, or None to drop it (not one of Kamailio's lines)."""
    head = _LINE.match(line)
    if head is None:
        return None
    rest = line[head.end() :]
    origin = _ORIGIN.match(rest)
    prefix = origin.group(1) if origin else ""
    text = rest[len(prefix) :]
    cut = min((i for i in (text.find("<"), text.find("[")) if i >= 0), default=-1)
    if cut >= 0:
        text = text[:cut] + "[redacted]"
    return (line[: head.end()] + prefix + text)[:MAX_LINE]


def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class _OwnerOnlyRotatingFile(RotatingFileHandler):
    """Opens (and after each rotation, creates) the file with mode 0600, whatever the umask."""

    def _open(self) -> IO[str]:  # type: ignore[override]
        stream = open(  # noqa: SIM115 (the handler owns and closes it)
            self.baseFilename, self.mode, encoding=self.encoding, opener=_owner_only
        )
        os.chmod(self.baseFilename, 0o600)  # a file left by an older version
        return stream


def _rotating_file(log_file: Path) -> logging.Handler:
    handler = _OwnerOnlyRotatingFile(
        log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


async def copy_redacted(stream: asyncio.StreamReader, log_file: Path) -> None:
    """Copy Kamailio's output into `log_file`, line by line, redacted, until it closes."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = _rotating_file(log_file)
    try:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the stream's limit: skip it
                continue
            if not raw:
                return
            line = redact(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if line is not None:  # the handler writes and flushes it, rotating first if due
                handler.handle(logging.makeLogRecord({"msg": line}))
    finally:
        handler.close()

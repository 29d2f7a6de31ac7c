"""Kamailio's log, redacted on its way to the edge's log file.

Kamailio's parser reports a malformed message with the whole message (headers and
body, so caller numbers and anything else a sender put there) and quotes the offending
header in other errors; no configuration silences that in 5.6. Every line therefore
goes through `redact`: only Kamailio's own log lines are kept, and their text is cut
at the first quoted part (`<...` or `[...`).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

# " 2(1389) ERROR: <core> [core/parser/msg_parser.c:749]: parse_msg(): text"
# " 1(1388) NOTICE: <script>: text"
_LINE = re.compile(r"^\s*\d+\(\d+\) [A-Z]+: ")
_ORIGIN = re.compile(r"^((?:<[\w-]+>|[\w-]+)(?: \[[^\]]*\])?: (?:\w+\(\): )?)")
MAX_LINE = 300  # characters kept of one log line


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


async def copy_redacted(stream: asyncio.StreamReader, log_file: Path) -> None:
    """Copy Kamailio's output into `log_file`, line by line, redacted, until it closes."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a", encoding="utf-8") as log:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the stream's limit: skip it
                continue
            if not raw:
                return
            line = redact(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if line is not None:
                log.write(line + "\n")
                log.flush()

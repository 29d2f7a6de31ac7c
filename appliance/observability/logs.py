"""Structured JSON logs, one object per line. Never transcript text.

Log metadata through `extra`:
`logger.info("turn", extra={"call_id": ..., "stage": ..., "code": ..., "timings": {...}})`.

A filter on the handler is the safety net for mistakes: fields whose names carry PHI
(`text`, `transcript`, `caller_number`, ...) are replaced by "[redacted]", at any depth;
%-arguments of the appliance's own loggers are dropped; exceptions (and tracebacks that
libraries format into their messages) are written as their type, code and location,
never their message; and values that are not plain JSON data
are written as their type name, never their `str()` (a dataclass repr would show text).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any, TextIO

from appliance.errors import ConfigError

REDACTED = "[redacted]"
# Field names that would carry PHI (or card data) if someone passed them by mistake.
PHI_FIELDS = frozenset(
    {
        "text", "transcript", "utterance", "reply", "sentence", "prompt", "content",
        "messages", "audio", "body", "payload", "caller", "caller_number", "caller_id",
        "callerid", "remote", "remote_uri", "from_uri", "contact", "patient",
        "patient_name", "dob", "date_of_birth", "phone", "phone_number", "address",
        "email", "mrn", "ssn", "digits", "dtmf", "card", "card_number",
    }
)  # fmt: skip
NOISY_LOGGERS = (
    "httpx",
    "httpx2",
    "httpcore",
    "openai",
    "uvicorn.access",
    "faster_whisper",
    "urllib3",
    "piper",
)
# LogRecord attributes, and uvicorn's ANSI-coloured duplicate of its message
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_MAX_DEPTH = 6
_TRACEBACK = "Traceback (most recent call last):"


def is_phi_field(name: str) -> bool:
    return name.lower() in PHI_FIELDS


def redact(value: Any, depth: int = 0) -> Any:
    """Copy of `value` with PHI-named keys redacted in nested mappings and sequences."""
    if depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_phi_field(str(k)) else redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, depth + 1) for v in value]
    return value


class RedactPhi(logging.Filter):
    """Replaces PHI-named `extra` fields and drops %-arguments of appliance loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in list(vars(record).items()):
            if key in _STANDARD or key.startswith("_"):
                continue
            setattr(record, key, REDACTED if is_phi_field(key) else redact(value))
        if record.args and record.name.split(".")[0] == "appliance":
            # our code passes data only through `extra`; %-arguments could carry anything
            record.msg = f"{record.msg} [args redacted]"
            record.args = None
        _strip_traceback_text(record)
        return True


def _strip_traceback_text(record: logging.LogRecord) -> None:
    """Some libraries (uvicorn's lifespan) put a formatted traceback in the message."""
    message = record.getMessage()
    head, marker, tail = message.partition(_TRACEBACK)
    if not marker:
        return
    last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
    record.msg = f"{head.strip() or 'error'} [traceback redacted]"
    record.args = None
    record.exc_type = last.split(":", 1)[0].strip().rsplit(".", 1)[-1]


def _safe_default(value: Any) -> Any:
    """JSON fallback: enums, paths and numbers by value; anything else by type name."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    return f"<{type(value).__name__}>"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(_exception_fields(record.exc_info[1]))
        return json.dumps(entry, default=_safe_default, ensure_ascii=False)


def _exception_fields(exc: BaseException) -> dict[str, Any]:
    """Type, code (ApplianceError codes are PHI-free) and where it was raised."""
    fields: dict[str, Any] = {"exc_type": type(exc).__name__}
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        fields["exc_code"] = code
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        fields["exc_where"] = f"{tb.tb_frame.f_globals.get('__name__', '?')}:{tb.tb_lineno}"
    return fields


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route all logging to one JSON-lines handler on `stream` (stderr by default)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ConfigError("config-invalid", f"unknown log level {level!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactPhi())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)

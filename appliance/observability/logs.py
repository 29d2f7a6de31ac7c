"""Structured JSON logs, one object per line. Never transcript text.

Log metadata through `extra`:
`logger.info("turn", extra={"call_id": ..., "stage": ..., "code": ..., "timings": {...}})`.

A filter on the handler is the safety net for mistakes: fields whose names carry PHI
(`text`, `transcript`, `caller_number`, ...) are replaced by "[redacted]", at any depth;
%-arguments of the appliance's own loggers are dropped, those of other loggers (uvicorn,
litestar, piper, ...) are kept only when they are numbers, booleans, enum members or IP
addresses and written as their type name otherwise (`<str>`: a library may pass a caller's
words or number); warnings are logged as their category and place; exceptions (and
tracebacks that libraries format into their messages) are written as their type, code and
location, never their message; and values that are not plain JSON data are written as
their type name, never their `str()` (a dataclass repr would show text).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
import time
import warnings
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
        _strip_traceback_text(record)
        if record.args:
            _format_args(record)
        return True


class _TypeOnly:
    """Stands in for a %-argument: prints as `<type>` under both %s and %r."""

    def __init__(self, value: object) -> None:
        self._text = f"<{type(value).__name__}>"

    def __repr__(self) -> str:
        return self._text

    __str__ = __repr__


def _format_args(record: logging.LogRecord) -> None:
    """Formats a library's message with its arguments made safe; drops the appliance's."""
    args = record.args
    if record.name.split(".")[0] != "appliance":  # ours pass data only through `extra`
        try:
            if isinstance(args, Mapping):
                record.msg = str(record.msg) % {k: _safe_arg(v) for k, v in args.items()}
            else:
                record.msg = str(record.msg) % tuple(_safe_arg(v) for v in args or ())
            record.args = None
            return
        except (TypeError, ValueError, KeyError):
            pass  # a format that does not fit its arguments: drop them
    record.msg = f"{record.msg} [args redacted]"
    record.args = None


def _safe_arg(value: object, depth: int = 0) -> object:
    if value is None or isinstance(value, bool | int | float | Enum):
        return value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    if isinstance(value, str) and _is_address(value):
        return value
    if isinstance(value, tuple | list) and depth == 0:
        items = [_safe_arg(v, 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    return _TypeOnly(value)


def _is_address(text: str) -> bool:
    """An IP address, with or without a port (`10.0.0.5`, `10.0.0.5:5060`, `[::1]:5061`)."""
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (host.startswith("[") or ":" not in host):
        text = host.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _strip_traceback_text(record: logging.LogRecord) -> None:
    """Some libraries (uvicorn's lifespan) put a formatted traceback in the message."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):
        return  # arguments that do not fit the format: _format_args drops them
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


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """`warnings.showwarning`: category and place only (a warning's text is a library's)."""
    where = "/".join(PurePath(filename).parts[-2:])
    logging.getLogger("py.warnings").warning(
        "warning", extra={"category": category.__name__, "where": f"{where}:{lineno}"}
    )


def _json_handler(stream: TextIO) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactPhi())
    return handler


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route all logging to one JSON-lines handler on `stream` (stderr by default).

    Warnings go through it too, and so does `logging.lastResort` (used for a library's
    logger that does not propagate and has no handler of its own).
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ConfigError("config-invalid", f"unknown log level {level!r}")
    out = stream if stream is not None else sys.stderr
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(_json_handler(out))
    root.setLevel(numeric)
    last_resort = _json_handler(out)
    last_resort.setLevel(logging.WARNING)
    logging.lastResort = last_resort
    warnings.showwarning = _log_warning
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)

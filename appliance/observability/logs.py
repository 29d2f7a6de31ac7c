"""Structured JSON logs. Never transcript text: a filter redacts PHI-carrying fields.

Use `logger.info("turn", extra={"call_id": ..., "stage": ..., "timings": {...}})`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

# Fields that would carry PHI if someone passed them by mistake.
PHI_FIELDS = frozenset(
    {"text", "transcript", "utterance", "reply", "caller_number", "caller", "remote",
     "remote_uri", "patient_name", "dob", "phone", "audio", "content", "messages"}
)
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RedactPhi(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key in PHI_FIELDS & vars(record).keys():
            setattr(record, key, "[redacted]")
        if record.args and record.name.startswith("appliance"):
            # our code passes data only through `extra`; %-arguments could carry anything
            record.msg = f"{record.msg} [args redacted]"
            record.args = None
        return True


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
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # type only: exception text may quote data
            entry["exc_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactPhi())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "openai", "uvicorn.access", "faster_whisper"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

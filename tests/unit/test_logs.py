"""Structured logs: JSON lines, and PHI-carrying fields can never be emitted."""

from __future__ import annotations

import io
import json
import logging

import pytest

from appliance.observability.logs import configure_logging

pytestmark = pytest.mark.unit


@pytest.fixture
def stream():
    out = io.StringIO()
    configure_logging("DEBUG", out)
    yield out
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_with_extra_fields(stream) -> None:
    logging.getLogger("appliance.test").info(
        "turn", extra={"call_id": "abc", "stage": "turn", "timings": {"stt_done": 0.3}}
    )
    [entry] = lines(stream)
    assert entry["msg"] == "turn" and entry["level"] == "INFO"
    assert entry["call_id"] == "abc" and entry["timings"] == {"stt_done": 0.3}
    assert entry["ts"].endswith("Z")


def test_phi_fields_are_redacted(stream) -> None:
    log = logging.getLogger("appliance.test")
    log.info("oops", extra={"text": "my name is Eleanor Rigby", "caller_number": "+15551234"})
    log.info("args %s", "Eleanor Rigby")
    out = stream.getvalue()
    assert "Eleanor" not in out and "5551234" not in out
    first = lines(stream)[0]
    assert first["text"] == "[redacted]" and first["caller_number"] == "[redacted]"


def test_exception_text_is_not_logged(stream) -> None:
    try:
        raise ValueError("patient Eleanor Rigby")
    except ValueError:
        logging.getLogger("appliance.test").exception("failed", extra={"code": "x"})
    [entry] = lines(stream)
    assert entry["exc_type"] == "ValueError"
    assert "Eleanor" not in stream.getvalue()

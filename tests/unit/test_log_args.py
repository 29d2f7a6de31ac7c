"""%-arguments of third-party loggers never bring caller words into the JSON logs."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from enum import Enum
from ipaddress import ip_address
from typing import Any

import pytest

from appliance.observability.logs import configure_logging

pytestmark = pytest.mark.unit
CANARY = "Eleanor Rigby born 1961-03-04 on +15551234567"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    last_resort = logging.lastResort
    configure_logging("DEBUG", out)
    yield out
    logging.lastResort = last_resort
    for handler in logging.getLogger().handlers[:]:
        logging.getLogger().removeHandler(handler)


def messages(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]


class Mode(Enum):
    FAST = "fast"


def test_text_arguments_of_library_loggers_are_replaced_by_their_type(
    stream: io.StringIO,
) -> None:
    body = {"caller": CANARY}
    logging.getLogger("uvicorn.error").error("bad request from %s: %r", "10.0.0.5", body)
    logging.getLogger("piper.voice").warning("text=%s, phonemes=%s", CANARY, [CANARY])
    logging.getLogger("faster_whisper").warning("segment %d: %s (%.1f s)", 3, CANARY, 1.25)
    logging.getLogger("litestar").error("%(method)s %(path)s", {"method": "GET", "path": CANARY})
    logging.getLogger("pjsua2").error("call from %s", CANARY.encode())
    assert "Eleanor" not in stream.getvalue() and "5551234567" not in stream.getvalue()
    assert messages(stream) == [
        "bad request from 10.0.0.5: <dict>",
        "text=<str>, phonemes=[<str>]",
        "segment 3: <str> (1.2 s)",
        "<str> <str>",
        "call from <bytes>",
    ]


def test_numbers_addresses_and_enums_stay_readable(stream: io.StringIO) -> None:
    lib = logging.getLogger("uvicorn.error")
    lib.info("listening on %s:%d (%s)", "127.0.0.1", 8080, Mode.FAST)
    lib.info("client %s sent %s", ("::1", 5060), ip_address("192.0.2.7"))
    lib.info("flags %s %s %r", True, None, "[fe80::1]:5061")
    lib.info("%s: %s", ValueError(CANARY), KeyError(CANARY))
    assert messages(stream) == [
        "listening on 127.0.0.1:8080 (Mode.FAST)",
        "client ('::1', 5060) sent 192.0.2.7",
        "flags True None '[fe80::1]:5061'",
        "<ValueError>: <KeyError>",
    ]


def test_a_format_that_does_not_fit_its_arguments_loses_them_not_the_line(
    stream: io.StringIO,
) -> None:
    logging.getLogger("uvicorn.error").error("count %d", CANARY)
    logging.getLogger("appliance.x").info("heard %s", CANARY)
    assert messages(stream) == ["count %d [args redacted]", "heard %s [args redacted]"]
    assert "Eleanor" not in stream.getvalue()


def test_warnings_give_category_and_place_not_their_text(stream: io.StringIO) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        configure_logging("DEBUG", stream)
        warnings.warn_explicit(CANARY, UserWarning, "/opt/lib/site-packages/lib/mod.py", 7)
    assert "Eleanor" not in stream.getvalue()
    [entry] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (entry["logger"], entry["msg"]) == ("py.warnings", "warning")
    assert (entry["category"], entry["where"]) == ("UserWarning", "lib/mod.py:7")


def test_the_last_resort_handler_redacts_too(stream: io.StringIO) -> None:
    lonely = logging.getLogger("somelib.lonely")
    lonely.propagate = False
    try:
        lonely.error("dropped call from %s", CANARY)
        lonely.info("below the last resort's level")
    finally:
        lonely.propagate = True
    assert messages(stream) == ["dropped call from <str>"]


def test_the_messages_of_arguments_free_library_calls_are_kept(stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    literal: Any = "100% done"
    logging.getLogger("uvicorn.error").info(literal)
    assert messages(stream) == ["Application startup complete.", "100% done"]

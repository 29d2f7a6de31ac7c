"""JSON logs that cannot carry PHI, metrics with code-only labels, thread-safe health."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from appliance.domain import Speaker
from appliance.errors import ConfigError, SpeechToTextError
from appliance.observability.health import MAX_DETAIL, Health
from appliance.observability.logs import REDACTED, configure_logging
from appliance.observability.metrics import BUCKETS, STAGES, Metrics

pytestmark = pytest.mark.unit
NAME = "Eleanor Rigby"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("DEBUG", out)
    yield out
    for handler in logging.getLogger().handlers[:]:
        logging.getLogger().removeHandler(handler)


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


log = logging.getLogger("appliance.test")


def test_one_json_object_per_line_with_extra_fields(stream: io.StringIO) -> None:
    log.info("turn", extra={"call_id": "abc", "stage": "turn", "timings": {"stt_done": 0.3}})
    log.warning("stage failed", extra={"call_id": "abc", "stage": "stt", "code": "stt-failed"})
    first, second = entries(stream)
    assert set(first) == {"ts", "level", "logger", "msg", "call_id", "stage", "timings"}
    assert (first["level"], first["logger"], first["msg"]) == ("INFO", "appliance.test", "turn")
    assert first["timings"] == {"stt_done": 0.3}
    assert first["ts"].endswith("Z") and first["ts"][10] == "T"
    assert (second["level"], second["code"]) == ("WARNING", "stt-failed")


def test_phi_fields_are_redacted_at_any_depth(stream: io.StringIO) -> None:
    log.info(
        "oops",
        extra={
            "text": NAME,
            "Caller_Number": "+15551234",
            "details": {"transcript": NAME, "inner": [{"utterance": NAME, "ok": 1}]},
        },
    )
    out = stream.getvalue()
    assert "Eleanor" not in out and "5551234" not in out
    [entry] = entries(stream)
    assert entry["text"] == REDACTED and entry["Caller_Number"] == REDACTED
    assert entry["details"] == {"transcript": REDACTED, "inner": [{"utterance": REDACTED, "ok": 1}]}


def test_percent_arguments_of_appliance_loggers_are_dropped(stream: io.StringIO) -> None:
    log.info("heard %s", NAME)
    logging.getLogger("uvicorn.error").info("listening on %s", "127.0.0.1:8080")
    mine, theirs = entries(stream)
    assert NAME not in mine["msg"] and mine["msg"].endswith("[args redacted]")
    assert theirs["msg"] == "listening on 127.0.0.1:8080"


def test_objects_are_written_as_their_type_not_their_text(stream: io.StringIO) -> None:
    @dataclass
    class Turn:
        text: str

    log.info("x", extra={"turn": Turn(NAME), "speaker": Speaker.CALLER, "file": Path("/a/b")})
    [entry] = entries(stream)
    assert NAME not in stream.getvalue()
    assert (entry["turn"], entry["speaker"], entry["file"]) == ("<Turn>", "caller", "/a/b")


def test_exceptions_give_type_code_and_place_never_the_message(stream: io.StringIO) -> None:
    try:
        raise ValueError(f"patient {NAME}")
    except ValueError:
        log.exception("failed", extra={"code": "x"})
    try:
        raise SpeechToTextError("stt-failed", "the model failed")
    except SpeechToTextError:
        log.error("stt", exc_info=True)
    plain, coded = entries(stream)
    assert "Eleanor" not in stream.getvalue() and "Traceback" not in stream.getvalue()
    assert plain["exc_type"] == "ValueError" and "exc_code" not in plain
    assert re.fullmatch(r"[\w.]*test_observability:\d+", plain["exc_where"])
    assert (coded["exc_type"], coded["exc_code"]) == ("SpeechToTextError", "stt-failed")


def test_tracebacks_formatted_into_a_library_message_are_cut(stream: io.StringIO) -> None:
    try:
        raise ValueError(f"patient {NAME}")
    except ValueError:
        text = traceback.format_exc()
    logging.getLogger("uvicorn.error").error(text)
    logging.getLogger("uvicorn.error").error("Exception in 'lifespan' protocol\n%s", text)
    first, second = entries(stream)
    assert "Eleanor" not in stream.getvalue()
    assert (first["msg"], first["exc_type"]) == ("error [traceback redacted]", "ValueError")
    assert second["msg"] == "Exception in 'lifespan' protocol [traceback redacted]"


def test_levels_and_noisy_libraries(stream: io.StringIO) -> None:
    configure_logging("warning", stream)
    log.info("hidden")
    log.warning("shown")
    assert [e["msg"] for e in entries(stream)] == ["shown"]
    assert len(logging.getLogger().handlers) == 1
    for name in ("httpx", "uvicorn.access"):
        assert logging.getLogger(name).level == logging.WARNING
    with pytest.raises(ConfigError):
        configure_logging("chatty", stream)


def test_metrics_names_buckets_and_stage_set() -> None:
    metrics = Metrics()
    assert metrics.observe_stage("stt", 0.3)
    assert not metrics.observe_stage("made-up", 0.3)
    metrics.call_started()
    metrics.call_ended("completed")
    metrics.turns_total.inc()
    metrics.set_component("sip", True)
    text = generate_latest(metrics.registry).decode()
    for name in (
        "appliance_calls_total", "appliance_calls_active", "appliance_turns_total",
        "appliance_stage_seconds_bucket", "appliance_component_up",
    ):  # fmt: skip
        assert name in text
    for stage in STAGES:  # every stage is exported from the start
        assert f'appliance_stage_seconds_count{{stage="{stage}"}}' in text
    assert 'stage="made-up"' not in text
    assert 'appliance_stage_seconds_bucket{le="0.3",stage="stt"} 1.0' in text
    assert BUCKETS[0] <= 0.05 and 5.0 in BUCKETS
    assert "appliance_calls_active 0.0" in text


def test_label_values_must_look_like_codes() -> None:
    metrics = Metrics()
    metrics.stage_failed("stt", "stt-failed")
    metrics.stage_failed("llm", f"said {NAME}")
    metrics.call_ended("Mr Rigby hung up")
    text = generate_latest(metrics.registry).decode()
    assert 'appliance_stage_failures_total{code="stt-failed",stage="stt"} 1.0' in text
    assert 'appliance_stage_failures_total{code="other",stage="llm"} 1.0' in text
    assert 'appliance_calls_total{outcome="other"} 1.0' in text
    assert "Rigby" not in text


def test_registries_are_independent() -> None:
    Metrics().calls_total.labels(outcome="completed").inc()
    assert "appliance_calls_total{" not in generate_latest(Metrics().registry).decode()


def test_health_snapshot_and_mirroring_into_metrics() -> None:
    health = Health()
    assert health.snapshot() == {"status": "degraded", "components": {}}
    health.set("store", True, "sqlcipher")
    health.set("llm", False, "not\nanswering " + "x" * 500)
    snap = health.snapshot()
    assert snap["status"] == "degraded" and not health.healthy()
    assert snap["components"]["store"] == {"ok": True, "detail": "sqlcipher"}
    detail = snap["components"]["llm"]["detail"]
    assert detail.startswith("not answering") and len(detail) == MAX_DETAIL
    health.set("llm", True, "ready")
    assert health.snapshot()["status"] == "ok" and health.healthy()
    metrics = Metrics()
    health.set("sip", False, "starting")
    metrics.record_health(health)
    text = generate_latest(metrics.registry).decode()
    assert 'appliance_component_up{component="sip"} 0.0' in text
    assert 'appliance_component_up{component="store"} 1.0' in text


def test_health_is_thread_safe() -> None:
    health = Health()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(500):
                health.set(f"c{n}-{i % 10}", i % 2 == 0, "x")
                health.snapshot()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(health.components()) == 80

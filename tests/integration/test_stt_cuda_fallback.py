"""[stt] device = "cuda" on a host where CUDA does not load (this one: no driver): the real
CTranslate2 failure, the real Whisper tiny.en model on the CPU after it, and what the agent
reports (the log's code, the metric, the health detail)."""

from __future__ import annotations

import ctranslate2
import msgspec
import pytest

from appliance.config import load_settings
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services import runtime
from appliance.speech.stt import WhisperStt
from tests.integration.speech_support import model_path, normalize, prompt, prompt_text

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        ctranslate2.get_cuda_device_count() > 0, reason="CUDA loads here: nothing to fall from"
    ),
]

PROMPT = "vm-reachoper"
CUDA_UNAVAILABLE = "stt-cuda-unavailable"


def test_cuda_that_fails_to_load_falls_back_to_the_cpu_visibly(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    settings = load_settings()
    cfg = msgspec.structs.replace(
        settings.stt, model="whisper-tiny.en", device="cuda", compute_type="float16"
    )
    with caplog.at_level("WARNING", logger="appliance.speech.stt"):
        stt = WhisperStt.load(model_path(cfg.model), cfg)
    try:
        assert stt.fallback == CUDA_UNAVAILABLE and stt.device == "cpu"
        [record] = [r for r in caplog.records if getattr(r, "code", None) == CUDA_UNAVAILABLE]
        assert "CUDA" in record.__dict__["reason"]  # CTranslate2's own reason
        heard = stt.transcribe_pcm(prompt(PROMPT).pcm, prompt(PROMPT).rate)
        assert normalize(heard.text).split()[:3] == normalize(prompt_text(PROMPT)).split()[:3]

        metrics, health = Metrics(), Health()
        runtime.report_speech(stt, msgspec.structs.replace(settings, stt=cfg), metrics, health)
        count = metrics.registry.get_sample_value(
            "appliance_stt_fallbacks_total", {"code": CUDA_UNAVAILABLE}
        )
        assert count == 1.0
        detail = health.snapshot()["components"]["stt"]
        assert detail["ok"] is True  # calls are answered, slower
        assert "on cpu" in detail["detail"] and CUDA_UNAVAILABLE in detail["detail"]
    finally:
        stt.close()

"""The LLM's part in understanding, against the real CPU LLM server (llama.cpp) with
structured output: one intent from the closed list, asked as the understander asks it."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import msgspec
import pytest

from appliance.config import load_settings
from appliance.llm.client import OpenAIChatModel
from appliance.llm.server import MODEL_ALIAS, LlmServerProcess
from appliance.llm.understanding import Intent, LlmIntents
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration

CASES = [
    ("I would like to book an appointment with Doctor Lee next Tuesday.", Intent.BOOK),
    ("Can I make an appointment for a checkup?", Intent.BOOK),
    ("I need to cancel my appointment on Friday.", Intent.CANCEL),
    ("Could you move my appointment to next week?", Intent.RESCHEDULE),
    ("When is my next appointment?", Intent.APPOINTMENT_STATUS),
    ("What time do you open on Saturday?", Intent.CLINIC_INFO),
    ("Where should I park when I arrive?", Intent.CLINIC_INFO),
    ("I need a refill of my blood pressure medication.", Intent.REFILL),
    ("I have a question about a charge on my bill.", Intent.BILLING),
    ("Are my blood test results ready?", Intent.TEST_RESULTS),
    ("That's all, thank you, goodbye.", Intent.GOODBYE),
    ("Do you accept Blue Cross insurance?", Intent.CLINIC_INFO),
]


@pytest.mark.slow
async def test_intents_from_the_real_model(models_dir: Path, tmp_path: Path) -> None:
    cfg = msgspec.structs.replace(load_settings(None).llm.server, port=free_port())
    server = LlmServerProcess(
        cfg, models_dir / cfg.model / "model.gguf", "k" * 32, tmp_path, tmp_path / "llm.log"
    )
    await server.start()
    try:
        results = await classify(server)
    finally:
        await server.stop()
    hits = sum(r["expected"] == r["got"] for r in results)
    answered = sum(r["got"] is not None for r in results)
    ms = [float(r["ms"]) for r in results[1:]]  # the first fills the prompt cache
    out = REPO / "var" / "test-results"
    out.mkdir(parents=True, exist_ok=True)
    report = {"accuracy": hits / len(CASES), "valid": answered, "median_ms": statistics.median(ms),
              "max_ms": max(ms), "cases": results}  # fmt: skip
    (out / "understanding.json").write_text(json.dumps(report, indent=1))
    # every answer was one schema-valid, askable intent (none invalid, failed or late)
    assert answered == len(CASES), results
    assert hits / len(CASES) >= 0.6, results


async def classify(server: LlmServerProcess) -> list[dict[str, object]]:
    llm = OpenAIChatModel(
        server.base_url, "k" * 32, MODEL_ALIAS, timeout_s=30, max_tokens=200, temperature=0.0
    )
    # generous: this checks what the model answers; its speed is bench/understanding.py's
    intents = LlmIntents(llm, mode="json_object", timeout_s=30)
    results: list[dict[str, object]] = []
    try:
        for text, expected in CASES:
            started = time.monotonic()
            got = await intents.intent(text)
            ms = round((time.monotonic() - started) * 1000)
            results.append({"expected": expected.value, "got": got and got.value, "ms": ms})
    finally:
        await llm.close()
    return results

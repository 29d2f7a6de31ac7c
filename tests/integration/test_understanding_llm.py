"""Turn understanding against the real CPU LLM server (llama.cpp) with structured output."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from appliance.config import load_settings
from appliance.llm.client import OpenAIChatModel
from appliance.llm.server import MODEL_ALIAS, LlmServerProcess
from appliance.llm.understanding import Intent, Understander
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
    from_llm = sum(r["source"] == "llm" for r in results)
    out = REPO / "var" / "test-results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "understanding.json").write_text(
        json.dumps({"accuracy": hits / len(CASES), "valid_json": from_llm, "cases": results})
    )
    # every answer was schema-valid JSON from the model (no rules fallback needed)
    assert from_llm == len(CASES), results
    assert hits / len(CASES) >= 0.6, results


async def classify(server: LlmServerProcess) -> list[dict[str, str]]:
    llm = OpenAIChatModel(
        server.base_url, "k" * 32, MODEL_ALIAS, timeout_s=30, max_tokens=200, temperature=0.0
    )
    understander = Understander(llm, mode="json_object")
    results = []
    for text, expected in CASES:
        u = await understander.understand(text)
        results.append({"expected": expected.value, "got": u.intent.value, "source": u.source})
    await llm.close()
    return results

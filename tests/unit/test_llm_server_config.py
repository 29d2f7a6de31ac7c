"""The local LLM server's settings file: the key never on argv, and no RAM state cache
(its logits copies are not counted against its cap: the server grew without bound)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.llm.server import LlmServerProcess

pytestmark = pytest.mark.unit


def test_the_settings_file_is_private_and_keeps_no_state_cache(tmp_path: Path) -> None:
    cfg = load_settings(None).llm.server
    server = LlmServerProcess(cfg, tmp_path / "m.gguf", "secret-key", tmp_path / "run",
                              tmp_path / "llm.log")  # fmt: skip
    path = server._write_config()
    assert path.stat().st_mode & 0o777 == 0o600
    settings = json.loads(path.read_text("utf-8"))
    assert settings["api_key"] == "secret-key"
    (model,) = settings["models"]
    assert model["cache"] is False and "cache_type" not in model
    assert model["n_ctx"] == cfg.context and model["n_threads"] == cfg.threads

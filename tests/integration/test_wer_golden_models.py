"""`appliance quality wer-golden` with the real models: the shipped golden set's first
lines spoken by Piper, through the telephone channel, transcribed by WhisperStt as the
agent loads it, scored and stored as a synthetic run (the full 40 lines: bench/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.config import load_settings
from appliance.quality.wer_store import latest_run
from appliance.services.app_db import open_store
from tests.integration.speech_support import models_dir

pytestmark = pytest.mark.integration
LINES = 8


def test_the_golden_set_runs_through_the_real_voice_and_stt_and_is_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text(
        f"""
[paths]
var_dir = "{tmp_path}/var"
models_dir = "{models_dir()}"
[store]
db_file = "{tmp_path}/var/appliance.db"
key_file = "{tmp_path}/keys/db.key"
audit_key_file = "{tmp_path}/keys/audit-signing.key"
""",
        "utf-8",
    )
    settings = load_settings(config)
    db, _ = open_store(settings)
    db.close()
    argv = ["--config", str(config), "quality", "wer-golden", "--limit", str(LINES), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == "synthetic" and report["samples"] == LINES
    assert len(report["lines"]) == LINES and all(line["heard"] for line in report["lines"])
    # whisper-tiny.en on a noisy phone line: far from perfect, far from noise
    assert 0.0 < report["wer"] < 0.4, report["lines"]
    assert report["entities"] >= LINES and report["entity_errors"] < report["entities"]
    assert report["config"]["stt_model"] == settings.stt.model
    assert report["config"]["channel"]["snr_db"] == 20.0
    db, _ = open_store(settings)
    try:
        run = db.query(latest_run, "synthetic")
    finally:
        db.close()
    assert run is not None and run.summary.samples == LINES
    assert run.summary.wer == pytest.approx(report["wer"])
    stored = json.dumps(run.config)
    assert run.config["lines"] == LINES and "Alvarez" not in stored  # counts, not words
    # seeded voice and channel: a second run hears exactly the same (and is not stored)
    assert main([*argv, "--no-store"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [line["heard"] for line in again["lines"]] == [line["heard"] for line in report["lines"]]
    db, _ = open_store(settings)
    try:
        assert db.query(lambda c: c.execute("SELECT count(*) FROM wer_runs").fetchone()[0]) == 1
    finally:
        db.close()

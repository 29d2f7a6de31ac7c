"""A model file with one flipped byte is refused by `models verify` and by the services."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, free_ports

pytestmark = pytest.mark.integration


@pytest.fixture
def flipped(tmp_path: Path, models_dir: Path) -> Path:
    """A models dir like the real one (symlinks) but with one byte of the voice flipped."""
    models = tmp_path / "models"
    for model in models_dir.iterdir():
        if not model.is_dir():
            continue
        (models / model.name).mkdir(parents=True)
        for f in model.iterdir():
            if not f.name.startswith("."):
                (models / model.name / f.name).symlink_to(f)
    voice = models / "en_US-joe-medium" / "en_US-joe-medium.onnx.json"
    data = bytearray(voice.read_bytes())
    voice.unlink()
    data[len(data) // 2] ^= 0x20
    voice.write_bytes(bytes(data))
    return models


def _cli(tmp: Path, models: Path, *args: str) -> subprocess.CompletedProcess[str]:
    var = tmp / "var"
    config = tmp / "appliance.toml"
    config.write_text(
        f"""
[paths]
var_dir = "{var}"
models_dir = "{models}"
[sip]
port = {free_port()}
worker_port = {free_ports(2)}
[admin]
port = {free_port()}
[llm.server]
port = {free_port()}
[store]
db_file = "{var}/appliance.db"
key_file = "{var}/keys/db.key"
"""
    )
    return subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_models_verify_refuses_the_flipped_byte(tmp_path: Path, flipped: Path) -> None:
    result = _cli(tmp_path, flipped, "models", "verify")
    assert result.returncode == 1
    assert "FAIL model-checksum-mismatch: en_US-joe-medium/en_US-joe-medium.onnx.json" in (
        result.stderr
    )
    only = _cli(tmp_path, flipped, "models", "verify", "--model", "whisper-tiny.en")
    assert only.returncode == 0, only.stderr
    unit = _cli(tmp_path, flipped, "models", "verify", "--model", "en_US-joe-medium")
    assert unit.returncode == 2
    assert "error model-checksum-mismatch" in unit.stderr


@pytest.mark.parametrize("command", [["agent", "--worker", "0"], ["run"]])
def test_services_refuse_to_start(tmp_path: Path, flipped: Path, command: list[str]) -> None:
    started = time.monotonic()
    result = _cli(tmp_path, flipped, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "appliance: error model-checksum-mismatch:" in result.stderr
    assert "en_US-joe-medium/en_US-joe-medium.onnx.json" in result.stderr
    # refused before anything started: no database, no child processes, no waiting
    assert not (tmp_path / "var" / "appliance.db").exists()
    assert time.monotonic() - started < 30

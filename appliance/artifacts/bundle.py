"""The offline bundle: everything an air-gapped host needs, in one reproducible tarball.

Layout inside `appliance-bundle/`:

    wheels/          the locked Python wheels (requirements.lock, hash-checked by pip), and
                     portable.txt: the wheels built here from source for the CPU baseline
                     (x86-64-v3), with their sha256; the host installs them first, so it
                     never compiles anything (scripts/portable-wheels.sh)
    model-wheels/    the PyPI packages that carry the models (models/wheels.lock)
    debs/            Debian packages for the host (optional)
    ansible/ systemd/ models/manifest.toml models/wheels.lock requirements.lock
    SHA256SUMS       sha256 of every other file (`sha256sum -c` format), sorted

The tarball is byte-for-byte reproducible: sorted entries, fixed owner, mode and mtime,
and a gzip header without a timestamp. Building twice from the same inputs gives the
same checksum.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path

from appliance.errors import ApplianceError

ROOT = "appliance-bundle"
SUMS = "SHA256SUMS"
PORTABLE = "portable.txt"
REPO = Path(__file__).resolve().parent.parent.parent
CONTENT = ("ansible", "systemd", "models/manifest.toml", "models/wheels.lock", "requirements.lock")
_SKIP = {"__pycache__", ".cache", ".ansible"}


class BundleError(ApplianceError):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(lock: Path, dest: Path) -> None:
    """On the connected staging machine: fetch every locked file, checking its hash."""
    dest.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
    argv += ["--disable-pip-version-check", "-r", str(lock), "-d", str(dest)]
    if subprocess.run(argv, check=False).returncode != 0:
        raise BundleError("bundle-download-failed", f"pip download failed for {lock}")


def own_wheel(dest: Path, repo: Path = REPO) -> None:
    """On the staging machine: the appliance's own wheel, beside its locked dependencies
    (the ansible role installs it from the wheelhouse after them, with --no-index)."""
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check"]
    argv += ["--wheel-dir", str(dest), str(repo)]
    if subprocess.run(argv, check=False).returncode != 0:
        raise BundleError("bundle-wheel-failed", f"pip wheel failed for {repo}")


def portable_wheels(wheelhouse: Path, repo: Path = REPO) -> None:
    """On the staging machine: build the source-only packages for the CPU baseline into the
    wheelhouse (with portable.txt) and drop their source archives, so that no host ever
    builds them for its own CPU."""
    script = repo / "scripts" / "portable-wheels.sh"
    if subprocess.run([str(script), sys.executable, str(wheelhouse)], check=False).returncode:
        raise BundleError("bundle-portable-failed", f"{script} failed")
    for line in (wheelhouse / PORTABLE).read_text("utf-8").splitlines():
        name, _, version = line.split()[0].partition("==")
        for sdist in wheelhouse.glob(f"{name.replace('-', '_')}-{version}.tar.gz"):
            sdist.unlink()


def _files(source: Path) -> Iterable[tuple[Path, str]]:
    """(file, path relative to source) for every file under source, sorted."""
    if source.is_file():
        yield source, source.name
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and not _SKIP.intersection(path.relative_to(source).parts):
            yield path, path.relative_to(source).as_posix()


def _collect(
    wheelhouse: Path, model_wheels: Path, debs: Path | None, repo: Path
) -> dict[str, Path]:
    """Bundle path -> source file."""
    entries: dict[str, Path] = {}
    folders = [("wheels", wheelhouse), ("model-wheels", model_wheels)]
    if debs is not None:
        folders.append(("debs", debs))
    for name, folder in folders:
        if not folder.is_dir():
            raise BundleError("bundle-input-missing", f"{name}: not a folder: {folder}")
    if not (wheelhouse / PORTABLE).is_file():
        raise BundleError(
            "bundle-portable-missing", f"no {PORTABLE} in {wheelhouse} (see portable_wheels)"
        )
    for name, folder in folders:
        for path, rel in _files(folder):
            entries[f"{name}/{rel}"] = path
    for item in CONTENT:
        source = repo / item
        if not source.exists():
            raise BundleError("bundle-input-missing", f"not found: {source}")
        for path, rel in _files(source):
            entries[item if source.is_file() else f"{item}/{rel}"] = path
    return entries


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.size, info.mode, info.mtime = len(data), mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def build(
    out: Path,
    *,
    wheelhouse: Path,
    model_wheels: Path,
    debs: Path | None = None,
    repo: Path = REPO,
) -> Path:
    """Write `out` (a .tar.gz) and return it."""
    entries = _collect(wheelhouse, model_wheels, debs, repo)
    sums = "".join(f"{sha256(entries[name])}  {name}\n" for name in sorted(entries))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            mode = 0o755 if entries[name].stat().st_mode & 0o111 else 0o644
            _add(tar, name, entries[name].read_bytes(), mode)
        _add(tar, SUMS, sums.encode(), 0o644)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out


def _refuse_unsafe(member: tarfile.TarInfo, dest: Path) -> None:
    """A bundle holds only folders and plain files, all under ROOT inside dest."""
    if not (member.isfile() or member.isdir()):
        raise BundleError("bundle-unsafe-member", f"not a plain file: {member.name}")
    target = (dest / member.name).resolve()
    if member.name.startswith("/") or not target.is_relative_to((dest / ROOT).resolve()):
        raise BundleError("bundle-unsafe-member", f"outside the bundle folder: {member.name}")


def unpack(tarball: Path, dest: Path) -> Path:
    """Extract (refusing links, devices and paths outside dest) and return the bundle dir."""
    with tarfile.open(tarball, "r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            _refuse_unsafe(member, dest)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # Debian 12's Python 3.11.2 predates extraction filters: checked above
            tar.extractall(dest, members=members)  # noqa: S202
    return dest / ROOT


def verify(directory: Path) -> list[str]:
    """Problems with an unpacked bundle: changed, missing or unlisted files."""
    sums = directory / SUMS
    if not sums.is_file():
        return [f"{SUMS} not found in {directory}"]
    listed: dict[str, str] = {}
    for line in sums.read_text("utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    problems = []
    for name, digest in listed.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif sha256(path) != digest:
            problems.append(f"checksum mismatch: {name}")
    present = {rel for _, rel in _files(directory)} - {SUMS}
    problems.extend(f"not in {SUMS}: {name}" for name in sorted(present - listed.keys()))
    return problems

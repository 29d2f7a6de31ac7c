"""The offline bundle: reproducible, and tampering is caught."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appliance.artifacts import bundle

pytestmark = pytest.mark.integration


def _inputs(tmp: Path) -> tuple[Path, Path]:
    wheels, models = tmp / "wheelhouse", tmp / "model-wheels"
    wheels.mkdir()
    models.mkdir()
    (wheels / "alpha-1.0-py3-none-any.whl").write_bytes(b"PK fake wheel alpha" * 50)
    (wheels / "beta-2.0-py3-none-any.whl").write_bytes(b"PK fake wheel beta" * 50)
    (wheels / bundle.PORTABLE).write_text("beta==2.0 --hash=sha256:" + "0" * 64 + "\n")
    (models / "voice-1.0-py3-none-any.whl").write_bytes(bytes(range(256)) * 20)
    return wheels, models


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "bundle", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bundle_is_reproducible_and_complete(tmp_path: Path) -> None:
    wheels, models = _inputs(tmp_path)
    first = bundle.build(tmp_path / "a.tar.gz", wheelhouse=wheels, model_wheels=models)
    second = bundle.build(tmp_path / "b.tar.gz", wheelhouse=wheels, model_wheels=models)
    assert bundle.sha256(first) == bundle.sha256(second)

    unpacked = bundle.unpack(first, tmp_path / "unpacked")
    assert bundle.verify(unpacked) == []
    sums = (unpacked / bundle.SUMS).read_text()
    for name in (
        "wheels/alpha-1.0-py3-none-any.whl",
        "wheels/portable.txt",
        "model-wheels/voice-1.0-py3-none-any.whl",
        "ansible/site.yml",
        "systemd/appliance-llm.service",
        "models/manifest.toml",
        "requirements.lock",
    ):
        assert f"  {name}\n" in sums
        assert (unpacked / name).is_file()
    assert _cli("verify", str(first)).returncode == 0


def test_tampered_bundle_is_refused(tmp_path: Path) -> None:
    wheels, models = _inputs(tmp_path)
    tarball = bundle.build(tmp_path / "bundle.tar.gz", wheelhouse=wheels, model_wheels=models)
    unpacked = bundle.unpack(tarball, tmp_path / "unpacked")
    target = unpacked / "model-wheels/voice-1.0-py3-none-any.whl"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    (unpacked / "wheels/evil-6.6-py3-none-any.whl").write_bytes(b"not listed")
    (unpacked / "systemd/appliance-admin.service").unlink()

    assert bundle.verify(unpacked) == [
        "checksum mismatch: model-wheels/voice-1.0-py3-none-any.whl",
        "missing: systemd/appliance-admin.service",
        "not in SHA256SUMS: wheels/evil-6.6-py3-none-any.whl",
    ]
    result = _cli("verify", str(unpacked))
    assert result.returncode == 1
    assert "checksum mismatch: model-wheels/voice-1.0-py3-none-any.whl" in result.stdout


def test_missing_input_is_a_coded_error(tmp_path: Path) -> None:
    with pytest.raises(bundle.BundleError) as err:
        bundle.build(tmp_path / "x.tar.gz", wheelhouse=tmp_path / "no", model_wheels=tmp_path)
    assert err.value.code == "bundle-input-missing"


def test_a_wheelhouse_without_portable_wheels_is_refused(tmp_path: Path) -> None:
    """Without portable.txt the host would compile llama.cpp for its own CPU (or fail)."""
    wheels, models = _inputs(tmp_path)
    (wheels / bundle.PORTABLE).unlink()
    with pytest.raises(bundle.BundleError) as err:
        bundle.build(tmp_path / "x.tar.gz", wheelhouse=wheels, model_wheels=models)
    assert err.value.code == "bundle-portable-missing"


@pytest.mark.parametrize("kind", ["symlink", "escape", "device"])
def test_unsafe_tarball_members_are_refused(tmp_path: Path, kind: str) -> None:
    """Whatever the Python's tarfile filters: links, devices and escapes never land."""
    import io
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo(f"{bundle.ROOT}/wheels/x.whl")
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "escape":
            info.name = f"{bundle.ROOT}/../../outside.txt"
        else:
            info.type = tarfile.CHRTYPE
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(bundle.BundleError) as err:
        bundle.unpack(evil, tmp_path / "out")
    assert err.value.code == "bundle-unsafe-member"
    assert not (tmp_path / "outside.txt").exists()
    assert not (tmp_path / "out" / bundle.ROOT / "wheels" / "x.whl").exists()


def test_portable_wheels_replace_the_source_archive(tmp_path: Path) -> None:
    """The staging step: the baseline wheel (built by `make`, from the cache) goes into the
    wheelhouse with its sha256 in portable.txt, and the sdist the host would compile for its
    own CPU is dropped."""
    from appliance.artifacts.cpu_baseline import scan

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    sdist = wheels / "llama_cpp_python-0.3.36.tar.gz"
    sdist.write_bytes(b"source archive as pip download leaves it")
    other = wheels / "alpha-1.0-py3-none-any.whl"
    other.write_bytes(b"PK other wheel")
    bundle.portable_wheels(wheels)
    assert not sdist.exists() and other.exists()
    (line,) = (wheels / bundle.PORTABLE).read_text().splitlines()
    (built,) = wheels.glob("llama_cpp_python-0.3.36-*.whl")
    assert line == f"llama-cpp-python==0.3.36 --hash=sha256:{bundle.sha256(built)}"
    reports = scan([built])
    assert reports and not any(r.violates for r in reports)

"""Native code stays within the CPU baseline (x86-64-v3): the llama.cpp libraries that
`make` built, and the check itself on objects compiled here with and without AVX-512/AMX."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.artifacts.cpu_baseline import scan

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("objdump") is None, reason="needs binutils' objdump"),
]

WIDE = """
#include <immintrin.h>
__attribute__((target("avx512f"))) void widen(float *a) {
    __m512 x = _mm512_loadu_ps(a);
    _mm512_storeu_ps(a, _mm512_add_ps(x, x));
}
__attribute__((target("amx-tile"))) void tile(void) { _tile_zero(0); }
"""
BASELINE = """
#include <immintrin.h>
void fused(float *a) {
    __m256 x = _mm256_loadu_ps(a);
    _mm256_storeu_ps(a, _mm256_fmadd_ps(x, x, x));
}
"""


def _library(tmp: Path, name: str, source: str, *flags: str) -> Path:
    c_file, lib = tmp / f"{name}.c", tmp / name
    c_file.write_text(source)
    subprocess.run(
        ["cc", "-O2", "-shared", "-fPIC", *flags, "-o", str(lib), str(c_file)], check=True
    )
    return lib


def _check(*paths: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "appliance.artifacts.cpu_baseline", "check", *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_installed_llama_cpp_libraries_are_within_x86_64_v3() -> None:
    spec = importlib.util.find_spec("llama_cpp")
    assert spec is not None and spec.submodule_search_locations is not None
    lib_dir = Path(next(iter(spec.submodule_search_locations))) / "lib"
    reports = scan([lib_dir])
    names = {r.path.name for r in reports}
    assert any(name.startswith("libggml-cpu") for name in names), names
    assert any(name.startswith("libllama") for name in names), names
    offending = [r.line for r in reports if r.violates]
    assert offending == [], "built for this machine's CPU, not the baseline"
    result = _check(lib_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_avx512_and_amx_and_passes_the_baseline(tmp_path: Path) -> None:
    wide = _library(tmp_path, "libwide.so", WIDE)
    base = _library(tmp_path, "libbase.so", BASELINE, "-march=x86-64-v3")
    (report,) = scan([wide])
    assert report.amx >= 1 and report.avx512 >= 2 and report.violates
    result = _check(wide, base)
    assert result.returncode == 1
    assert "libwide.so: 1 AMX" in result.stdout and "BEYOND x86-64-v3" in result.stdout
    assert "%zmm" in result.stdout  # shows the offending instructions
    assert "libbase.so: 0 AMX, 0 AVX-512 instructions (baseline only)" in result.stdout
    assert _check(base).returncode == 0


def test_a_runtime_dispatched_variant_may_go_beyond(tmp_path: Path) -> None:
    """ggml's GGML_CPU_ALL_VARIANTS libraries are loaded only on CPUs that have them."""
    variant = _library(tmp_path, "libggml-cpu-sapphirerapids.so", WIDE)
    (report,) = scan([variant])
    assert report.beyond_baseline and report.dispatched and not report.violates
    assert _check(variant).returncode == 0
    # ...but the same code under the plain name is refused
    plain = variant.rename(tmp_path / "libggml-cpu.so")
    assert _check(plain).returncode == 1


def test_wheels_are_scanned_inside(tmp_path: Path) -> None:
    import zipfile

    wide = _library(tmp_path, "libggml-cpu.so", WIDE)
    wheel = tmp_path / "llama_cpp_python-0.0.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(wide, "llama_cpp/lib/libggml-cpu.so")
    result = _check(wheel)
    assert result.returncode == 1 and "libggml-cpu.so" in result.stdout

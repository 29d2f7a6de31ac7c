"""The appliance's CPU baseline (x86-64-v3) and a check that native code stays within it.

Native code compiled from source on the staging machine (llama.cpp, through
llama-cpp-python) must run on every host the bundle goes to. It is built for x86-64-v3
(AVX2, FMA, F16C, BMI2; Intel Haswell / AMD Zen and newer), never `-march=native`: a
library built on a Xeon with AVX-512 and AMX carries `zmm` and `tile*` instructions and
dies of SIGILL on the first request on any CPU without them.

`check` disassembles ELF shared objects with binutils' objdump and reports every
instruction beyond the baseline: AMX (`tile*`, `tdp*`, `ldtilecfg`), and AVX-512 (a
`zmm` register, `xmm16`-`xmm31` / `ymm16`-`ymm31`, an opmask `k` register, an embedded
broadcast). A library named as one of ggml's runtime-dispatched CPU variants
(`libggml-cpu-<variant>.so`, built with GGML_CPU_ALL_VARIANTS and loaded only on a CPU
that has its instructions) may carry them.

    python -m appliance.artifacts.cpu_baseline check PATH...   (a .so, a folder or a .whl)

Standard library only: the build script runs it before the package is installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# /proc/cpuinfo flag -> what IT would look for in a CPU's data sheet.
BASELINE_FLAGS = {
    "sse4_2": "SSE4.2",
    "avx": "AVX",
    "avx2": "AVX2",
    "fma": "FMA3",
    "f16c": "F16C (half-precision conversion)",
    "bmi2": "BMI2",
}
BASELINE = "x86-64-v3 (AVX2, FMA, F16C, BMI2: Intel Haswell (2013) / AMD Zen (2017) or newer)"

_AMX = re.compile(r"^\s*[0-9a-f]+:\s+(tile\w*|tdp\w*|ldtilecfg|sttilecfg)\b")
_AVX512 = re.compile(r"%zmm\d+|%[xy]mm(?:1[6-9]|2\d|3[01])\b|%k[0-7]\b|\{1to\d+\}")
_INSN = re.compile(r"^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$")
_DISPATCHED = re.compile(r"^libggml-cpu-[a-z0-9_]+\.so(\.\d+)*$")
_ELF = b"\x7fELF"


def missing_flags(flags: set[str]) -> list[str]:
    """Baseline features this CPU lacks, in data-sheet words (empty: the CPU is fine)."""
    return [words for flag, words in BASELINE_FLAGS.items() if flag not in flags]


@dataclass(slots=True)
class LibraryReport:
    path: Path
    dispatched: bool  # a runtime-dispatched ggml CPU variant: allowed beyond the baseline
    amx: int = 0  # AMX instructions
    avx512: int = 0  # AVX-512 instructions
    examples: list[str] = field(default_factory=list)  # a few offending lines

    @property
    def beyond_baseline(self) -> bool:
        return self.amx + self.avx512 > 0

    @property
    def violates(self) -> bool:
        return self.beyond_baseline and not self.dispatched

    @property
    def line(self) -> str:
        verdict = "dispatched variant" if self.dispatched else "baseline only"
        if self.violates:
            verdict = "BEYOND x86-64-v3"
        return f"{self.path}: {self.amx} AMX, {self.avx512} AVX-512 instructions ({verdict})"


def classify(line: str) -> str | None:
    """'amx', 'avx512' or None for one line of `objdump -d` output."""
    if _AMX.match(line):
        return "amx"
    insn = _INSN.match(line)
    if insn and _AVX512.search(insn.group(2)):
        return "avx512"
    return None


def scan_library(path: Path) -> LibraryReport:
    """Disassemble one shared object and count instructions beyond the baseline."""
    report = LibraryReport(path, dispatched=bool(_DISPATCHED.match(path.name)))
    argv = ["objdump", "-d", "--no-show-raw-insn", str(path)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            kind = classify(line)
            if kind is None:
                continue
            if kind == "amx":
                report.amx += 1
            else:
                report.avx512 += 1
            if len(report.examples) < 3:
                report.examples.append(line.strip())
    if proc.returncode != 0:
        raise RuntimeError(f"objdump failed on {path} (exit {proc.returncode})")
    return report


def shared_objects(root: Path) -> Iterator[Path]:
    """Every ELF shared object at or under root (a file or a folder)."""
    candidates = [root] if root.is_file() else sorted(root.rglob("*.so*"))
    for path in candidates:
        if path.is_file() and not path.is_symlink() and ".so" in path.name:
            with path.open("rb") as fh:
                if fh.read(4) == _ELF:
                    yield path


def scan(paths: list[Path]) -> list[LibraryReport]:
    """Scan .so files, folders and wheels (unpacked to a temporary folder)."""
    reports: list[LibraryReport] = []
    for path in paths:
        if path.suffix == ".whl":
            with tempfile.TemporaryDirectory() as tmp:
                with zipfile.ZipFile(path) as wheel:
                    wheel.extractall(tmp)
                reports += scan([Path(tmp)])
            continue
        reports += [scan_library(lib) for lib in shared_objects(path)]
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance.artifacts.cpu_baseline")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="fail if native code goes beyond x86-64-v3")
    check.add_argument("paths", nargs="+", type=Path, help=".so files, folders or wheels")
    args = parser.parse_args(argv)
    reports = scan(args.paths)
    for report in reports:
        print(report.line)
        for example in report.examples if report.violates else []:
            print(f"    {example}")
    if not reports:
        print("cpu-baseline: no shared objects found", file=sys.stderr)
        return 2
    if any(report.violates for report in reports):
        print(f"cpu-baseline: native code beyond {BASELINE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

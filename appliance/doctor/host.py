"""Host basics: OS and Python version, CPU, memory, free disk under the data directory."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

from appliance.artifacts.cpu_baseline import BASELINE, missing_flags
from appliance.doctor.report import Finding, fail, ok, warn

GROUP = "host"
GIB = 1 << 30
SUPPORTED_OS = {("debian", "12")}  # what the bundle's Debian packages are built for
# (minimum, recommended) per profile; see hardware/README.md for where they come from.
MEMORY_GIB = {"cpu": (4, 8), "gpu": (32, 64)}
CORES = {"cpu": (2, 8), "gpu": (8, 16)}
DISK_FREE_GIB = (2, 20)  # under the data directory: database, logs, backups


def os_release(path: Path = Path("/etc/os-release")) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = path.read_text("utf-8")
    except OSError:
        return values
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def check_os(path: Path = Path("/etc/os-release")) -> Finding:
    info = os_release(path)
    name = info.get("PRETTY_NAME", "unknown OS")
    detail = f"{name}, kernel {platform.release()}"
    if (info.get("ID", ""), info.get("VERSION_ID", "")) in SUPPORTED_OS:
        return ok(GROUP, "operating system", detail)
    return warn(GROUP, "operating system", f"{detail} (supported: Debian 12)")


def check_python(version: tuple[int, int] = sys.version_info[:2]) -> Finding:
    text = f"Python {version[0]}.{version[1]}"
    if (3, 11) <= version <= (3, 12):
        return ok(GROUP, "python", text)
    return fail(GROUP, "python", f"{text}: pjsua2's wheels need Python 3.11 or 3.12")


def cpu_flags(path: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in path.read_text("utf-8").splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def check_cpu(
    profile: str,
    cores: int | None = None,
    flags: set[str] | None = None,
    machine: str | None = None,
) -> Finding:
    """Cores for the profile, and the CPU baseline the native engines are built for."""
    cores = cores if cores is not None else len(os.sched_getaffinity(0))
    flags = flags if flags is not None else cpu_flags()
    machine = machine or platform.machine()
    minimum, recommended = CORES[profile]
    detail = f"{cores} cores, {machine}"
    if machine not in {"x86_64", "amd64", "AMD64"}:
        return fail(GROUP, "cpu", f"{detail}: an x86-64 CPU is needed, {BASELINE}")
    missing = missing_flags(flags)
    if missing:
        return fail(
            GROUP,
            "cpu",
            f"{detail}: this CPU lacks {', '.join(missing)}; the speech and language engines "
            f"are built for {BASELINE} and would stop with an illegal-instruction error",
        )
    detail += ", x86-64-v3 baseline present"
    if cores < minimum:
        return fail(GROUP, "cpu", f"{detail}: at least {minimum} cores needed")
    if cores < recommended:
        return warn(GROUP, "cpu", f"{detail}: {recommended}+ recommended for the {profile} profile")
    return ok(GROUP, "cpu", detail)


def memory_bytes(path: Path = Path("/proc/meminfo")) -> int:
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no MemTotal in /proc/meminfo")


def check_memory(profile: str, total: int | None = None) -> Finding:
    try:
        total = total if total is not None else memory_bytes()
    except (OSError, ValueError) as exc:
        return warn(GROUP, "memory", f"cannot read /proc/meminfo: {exc}")
    minimum, recommended = MEMORY_GIB[profile]
    detail = f"{total / GIB:.1f} GiB"
    if total < minimum * GIB * 0.95:  # the kernel keeps a little back from MemTotal
        return fail(GROUP, "memory", f"{detail}: at least {minimum} GiB needed")
    if total < recommended * GIB * 0.95:
        return warn(GROUP, "memory", f"{detail}: {recommended} GiB recommended")
    return ok(GROUP, "memory", detail)


def existing_parent(path: Path) -> Path:
    """`path` or its nearest existing ancestor (the data dir may not exist before install)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def check_disk(data_dir: Path, free: int | None = None) -> Finding:
    where = existing_parent(data_dir)
    free = free if free is not None else shutil.disk_usage(where).free
    minimum, recommended = DISK_FREE_GIB
    detail = f"{free / GIB:.1f} GiB free under {where}"
    if free < minimum * GIB:
        return fail(GROUP, "disk space", f"{detail}: at least {minimum} GiB needed")
    if free < recommended * GIB:
        return warn(GROUP, "disk space", f"{detail}: {recommended} GiB recommended")
    return ok(GROUP, "disk space", detail)


def checks(profile: str, data_dir: Path) -> list[Finding]:
    return [
        check_os(),
        check_python(),
        check_cpu(profile),
        check_memory(profile),
        check_disk(data_dir),
    ]

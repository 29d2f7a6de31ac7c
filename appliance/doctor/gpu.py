"""GPU, driver, CUDA and GPU memory via nvidia-ml-py (NVML) when it is importable.

Without NVML (or without a GPU) the CPU profile reports "no GPU" as information; the
GPU profile fails, since vllm and Whisper on CUDA need one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from appliance.doctor.report import Finding, fail, ok, warn

GROUP = "gpu"
GIB = 1 << 30
MIN_GPU_MEMORY_GIB = 20  # the smallest reference GPU (L4) has 24 GB; see hardware/README.md
RECOMMENDED_DRIVER_MAJOR = 550  # the driver branch hardware/README.md lists


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    memory: int  # bytes, total
    used: int  # bytes, in use now


@dataclass(frozen=True, slots=True)
class GpuInfo:
    driver: str
    cuda: str  # highest CUDA version the driver supports, e.g. "12.4"
    gpus: tuple[Gpu, ...]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_nvml() -> GpuInfo | None:
    """GPU facts from NVML; None when nvidia-ml-py is missing or no driver is loaded."""
    try:
        nvml: Any = importlib.import_module("pynvml")
    except ImportError:
        return None
    try:
        nvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound, NVMLError_DriverNotLoaded, ...
        return None
    try:
        cuda = int(nvml.nvmlSystemGetCudaDriverVersion_v2())
        gpus = []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(Gpu(_text(nvml.nvmlDeviceGetName(handle)), int(mem.total), int(mem.used)))
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        return GpuInfo(driver, f"{cuda // 1000}.{cuda % 1000 // 10}", tuple(gpus))
    finally:
        nvml.nvmlShutdown()


def evaluate(profile: str, info: GpuInfo | None) -> list[Finding]:
    if info is None or not info.gpus:
        why = "no GPU (nvidia-ml-py not installed or no NVIDIA driver loaded)"
        if profile == "gpu":
            return [fail(GROUP, "gpu", f"{why}: the gpu profile needs one")]
        return [ok(GROUP, "gpu", f"{why}; fine for the cpu profile")]
    found = [
        ok(GROUP, "driver", f"NVIDIA driver {info.driver}, CUDA {info.cuda}")
        if _driver_major(info.driver) >= RECOMMENDED_DRIVER_MAJOR
        else warn(
            GROUP,
            "driver",
            f"NVIDIA driver {info.driver} (CUDA {info.cuda}): "
            f"{RECOMMENDED_DRIVER_MAJOR} or newer recommended",
        )
    ]
    for index, gpu in enumerate(info.gpus):
        detail = f"{gpu.name}, {gpu.memory / GIB:.1f} GiB ({gpu.used / GIB:.1f} GiB in use)"
        if gpu.memory < MIN_GPU_MEMORY_GIB * GIB:
            found.append(warn(GROUP, f"gpu {index}", f"{detail}: under {MIN_GPU_MEMORY_GIB} GiB"))
        else:
            found.append(ok(GROUP, f"gpu {index}", detail))
    return found


def _driver_major(version: str) -> int:
    head = version.split(".")[0]
    return int(head) if head.isdigit() else 0


def checks(profile: str) -> list[Finding]:
    return evaluate(profile, read_nvml())

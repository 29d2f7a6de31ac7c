"""Run every doctor check group and collect the report."""

from __future__ import annotations

from pathlib import Path

from appliance.config import Settings
from appliance.doctor import gpu, host, keys, models, network, storage, timesync
from appliance.doctor.report import Report


def profile_of(settings: Settings) -> str:
    """gpu when speech runs on CUDA (production GPU hosts), else cpu."""
    return "gpu" if settings.stt.device.startswith("cuda") else "cpu"


def run_all(settings: Settings, *, profile: str | None = None, units_dir: Path | None) -> Report:
    chosen = profile or profile_of(settings)
    report = Report(chosen)
    report.findings += host.checks(chosen, settings.var_dir)
    report.findings += storage.checks(settings.var_dir)
    report.findings += gpu.checks(chosen)
    report.findings += models.checks(settings)
    report.findings += keys.checks(settings, units_dir)
    report.findings += timesync.checks()
    report.findings += network.checks(settings)
    return report

"""The shipped unit files: `systemd-analyze verify` and offline exposure scores."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.isolation.units import APPLIANCE_UNITS, UNITS_DIR, check_unit, parse_unit
from tests.ansible_role import render_agent_dropins

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"),
]

# Exposure ceilings per unit (the issue asks for 2.5 or less; measured 1.1-1.4).
MAX_EXPOSURE = {
    "appliance-agent@.service": 1.5,
    "appliance-admin.service": 1.5,
    "appliance-llm.service": 1.8,
    "appliance-llm-cpu.service": 1.5,
    "appliance-sip-edge.service": 1.5,
}


def _staged(tmp_path: Path) -> Path:
    """Copy the units, pointing /opt/appliance executables at stubs under tmp_path."""
    root = tmp_path / "root"
    for exe in ("venv/bin/appliance", "venv/bin/python", "venv-vllm/bin/vllm"):
        stub = root / "opt/appliance" / exe
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for src in UNITS_DIR.iterdir():
        name = src.name.replace("@.service", "@0.service")
        text = src.read_text("utf-8").replace("/opt/appliance/", f"{root}/opt/appliance/")
        (units / name).write_text(text)
    return units


def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    units = _staged(tmp_path)
    files = sorted(str(p) for p in units.iterdir())
    assert len(files) == len(APPLIANCE_UNITS) + 1  # + appliance.target
    result = subprocess.run(
        ["systemd-analyze", "verify", *files], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.parametrize("name", APPLIANCE_UNITS)
def test_exposure_score_is_low(name: str) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNITS_DIR / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    score = float(match.group(1))
    print(f"exposure {name}: {score}")
    assert score <= MAX_EXPOSURE[name] <= 2.5


@pytest.mark.parametrize("name", APPLIANCE_UNITS)
def test_unit_has_the_required_sandbox(name: str) -> None:
    assert check_unit(parse_unit(UNITS_DIR / name)) == []


def test_unit_checker_catches_a_weakened_unit(tmp_path: Path) -> None:
    text = (UNITS_DIR / "appliance-admin.service").read_text("utf-8")
    weakened = tmp_path / "appliance-admin.service"
    weakened.write_text(
        text.replace("ProtectSystem=strict", "ProtectSystem=full").replace(
            "IPAddressAllow=localhost", "IPAddressAllow=any"
        )
    )
    problems = check_unit(parse_unit(weakened))
    assert any("ProtectSystem=full" in p for p in problems)
    assert any("IPAddressAllow=any" in p for p in problems)


def test_vllm_unit_runs_offline_on_loopback() -> None:
    unit = parse_unit(UNITS_DIR / "appliance-llm.service")
    env = unit.environment()
    assert {"VLLM_NO_USAGE_STATS=1", "DO_NOT_TRACK=1", "HF_HUB_OFFLINE=1"} <= env
    command = unit.last("ExecStart") or ""
    for flag in (
        "--host 127.0.0.1",
        "--no-enable-log-requests",
        "--enable-prefix-caching",
        "--gpu-memory-utilization",
        "--structured-outputs-config.backend",
    ):
        assert flag in command
    assert "--api-key" not in command
    assert "/dev/nvidia0 rw" in unit.settings["DeviceAllow"]


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_agent_unit_with_the_profile_drop_ins_verifies_and_stays_low(
    tmp_path: Path, profile: str
) -> None:
    """The agent unit plus the drop-ins the appliance role renders for the profile: systemd
    reads them (verify: no unknown key) and the exposure stays under the ceiling."""
    units = _staged(tmp_path)
    dropins = units / "appliance-agent@0.service.d"
    dropins.mkdir()
    render_agent_dropins(profile, dropins)
    unit = units / "appliance-agent@0.service"
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    private = re.search(r"^(\S) PrivateDevices=", result.stdout, re.MULTILINE)
    assert private, result.stdout + result.stderr
    assert private.group(1) == ("✓" if profile == "cpu" else "✗")  # the drop-ins were read
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    print(f"exposure agent ({profile}): {match.group(1)}")
    assert float(match.group(1)) <= MAX_EXPOSURE["appliance-agent@.service"]

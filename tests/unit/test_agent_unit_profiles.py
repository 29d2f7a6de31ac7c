"""The agent unit as the appliance role installs it, per profile: the unit file plus every
drop-in the role renders into appliance-agent@.service.d/ (rendered with Jinja as ansible
does, variables from the role's task), merged the way systemd merges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.isolation.units import UNITS_DIR, UnitFile, check_unit, parse_unit
from tests.ansible_role import AGENT, render_agent_dropins

pytestmark = pytest.mark.unit

NVIDIA = {
    "/dev/nvidiactl rw",
    "/dev/nvidia0 rw",
    "/dev/nvidia-uvm rw",
    "/dev/nvidia-uvm-tools rw",
    "/dev/nvidia-modeset rw",
}


def _agent(profile: str, tmp_path: Path) -> UnitFile:
    return parse_unit(UNITS_DIR / AGENT, render_agent_dropins(profile, tmp_path))


def test_gpu_profile_agent_sees_the_nvidia_devices_and_nothing_else(tmp_path: Path) -> None:
    unit = _agent("gpu", tmp_path)
    allowed = set(unit.settings.get("DeviceAllow", ())) - {""}
    assert unit.last("PrivateDevices") == "no", "a private /dev hides the GPU from Whisper"
    assert unit.last("DevicePolicy") == "closed"
    assert allowed >= NVIDIA, f"missing: {sorted(NVIDIA - allowed)}"
    assert all(a.startswith(("/dev/nvidia", "char-nvidia")) for a in allowed), allowed
    assert check_unit(unit) == []


def test_cpu_profile_agent_keeps_a_private_dev(tmp_path: Path) -> None:
    unit = _agent("cpu", tmp_path)
    assert unit.last("PrivateDevices") == "yes"
    assert unit.last("DevicePolicy") == "closed"
    assert not set(unit.settings.get("DeviceAllow", ())) - {""}
    assert check_unit(unit) == []


def test_both_profiles_render_the_same_drop_in_files(tmp_path: Path) -> None:
    """A host moved from gpu to cpu gets the GPU drop-in overwritten, not left behind."""
    (tmp_path / "gpu").mkdir()
    (tmp_path / "cpu").mkdir()
    gpu = [p.name for p in render_agent_dropins("gpu", tmp_path / "gpu")]
    cpu = [p.name for p in render_agent_dropins("cpu", tmp_path / "cpu")]
    assert gpu == cpu


def test_checker_refuses_a_shared_dev_beyond_the_gpu(tmp_path: Path) -> None:
    dropin = tmp_path / "90-wide.conf"
    dropin.write_text("[Service]\nPrivateDevices=no\nDeviceAllow=/dev/sda rw\n")
    problems = check_unit(parse_unit(UNITS_DIR / AGENT, [dropin]))
    assert any("PrivateDevices=no" in p and "/dev/sda" in p for p in problems), problems
    dropin.write_text("[Service]\nPrivateDevices=no\n")
    problems = check_unit(parse_unit(UNITS_DIR / AGENT, [dropin]))
    assert any("PrivateDevices=no" in p for p in problems), problems


def test_an_empty_assignment_resets_a_list_setting(tmp_path: Path) -> None:
    dropin = tmp_path / "90-reset.conf"
    dropin.write_text("[Service]\nSocketBindAllow=\nSocketBindAllow=udp:5070\n")
    unit = parse_unit(UNITS_DIR / AGENT, [dropin])
    assert [v for v in unit.settings["SocketBindAllow"] if v] == ["udp:5070"]
    assert unit.last("CapabilityBoundingSet") == ""  # empty is a value, not "missing"

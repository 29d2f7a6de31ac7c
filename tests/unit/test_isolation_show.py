"""Where systemd runs, verify-isolation also checks what `systemctl show` reports.

The outputs below have systemd 252's `systemctl show` form (IP lists as prefixes in any
order, `WatchdogUSec=`, ExecStart's `{ path= ; argv[]= ; ... }`, empty values printed as
`Key=`); this host has no systemd as PID 1, so the real command is not run here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.isolation import effective
from appliance.isolation.units import APPLIANCE_UNITS, UNITS_DIR

pytestmark = pytest.mark.unit
ADMIN = "appliance-admin.service"
ADMIN_SHOWN = """\
Type=notify
ExecStart={ path=/opt/appliance/venv/bin/appliance ; argv[]=/opt/appliance/venv/bin/appliance \
--config /etc/appliance/appliance.toml admin ; ignore_errors=no ; start_time=[Tue 2026-11-24 \
14:00:01 UTC] ; stop_time=[n/a] ; pid=812 ; code=(null) ; status=0/0 }
WatchdogUSec=30s
IPAddressAllow=127.0.0.0/8 ::1/128 10.20.0.0/24
IPAddressDeny=::/0 0.0.0.0/0
DevicePolicy=closed
Environment=HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 \
PYTHONDONTWRITEBYTECODE=1 PROMETHEUS_MULTIPROC_DIR=/var/lib/appliance/run/metrics
LimitCORE=0
PrivateTmp=yes
PrivateDevices=yes
ProtectHome=yes
ProtectSystem=strict
NoNewPrivileges=yes
CapabilityBoundingSet=
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallFilter=_llseek _newselect accept accept4 access add_key alarm arch_prctl bind brk
DeviceAllow=
LoadState=loaded
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for name in APPLIANCE_UNITS:
        shutil.copy(UNITS_DIR / name, units / name)
    return tmp_path


def check(root: Path, shown: str | None, name: str = ADMIN) -> list[str]:
    return effective.check_installed(root, [name], show=lambda unit: shown)


def test_parse_show_keeps_every_value_of_a_repeated_key() -> None:
    shown = effective.parse_show("A=1\nDeviceAllow=/dev/nvidia0 rw\nDeviceAllow=char-nvidia rw\n")
    assert shown == {"A": ("1",), "DeviceAllow": ("/dev/nvidia0 rw", "char-nvidia rw")}


def test_a_sound_loaded_unit_passes(root: Path) -> None:
    assert check(root, ADMIN_SHOWN) == []


def test_what_systemd_loaded_is_checked_even_when_the_files_are_sound(root: Path) -> None:
    weak = (
        ADMIN_SHOWN.replace("PrivateDevices=yes", "PrivateDevices=no")
        .replace("IPAddressDeny=::/0 0.0.0.0/0", "IPAddressDeny=")
        .replace("WatchdogUSec=30s", "WatchdogUSec=0")
        .replace("10.20.0.0/24", "0.0.0.0/0")
    )
    loaded = " (as loaded by systemd)"
    assert check(root, weak) == [
        f"{ADMIN}: IPAddressDeny=, expected IPAddressDeny=any{loaded}",
        f"{ADMIN}: IPAddressAllow=0.0.0.0/0 undoes IPAddressDeny=any{loaded}",
        f"{ADMIN}: WatchdogSec= is missing{loaded}",
        f"{ADMIN}: PrivateDevices=no without DeviceAllow= for the GPU nodes{loaded}",
    ]


def test_device_allow_entries_on_one_line_or_several(root: Path) -> None:
    shared = ADMIN_SHOWN.replace("PrivateDevices=yes", "PrivateDevices=no")
    for devices in (
        "DeviceAllow=/dev/nvidia0 rw /dev/sda rwm",
        "DeviceAllow=/dev/nvidia0 rw\nDeviceAllow=/dev/sda rwm",
    ):
        assert check(root, shared.replace("DeviceAllow=", devices)) == [
            f"{ADMIN}: PrivateDevices=no admits more than the NVIDIA nodes: /dev/sda rwm"
            " (as loaded by systemd)"
        ]
    nvidia = "DeviceAllow=/dev/nvidia0 rw\nDeviceAllow=char-nvidia-uvm rw"
    assert check(root, shared.replace("DeviceAllow=", nvidia)) == []


def test_exec_start_is_read_from_its_argv(root: Path) -> None:
    unit = effective.effective_unit(ADMIN, effective.unit_folders(root))
    assert unit is not None
    loaded = effective.unit_from_show(unit, effective.parse_show(ADMIN_SHOWN))
    assert loaded.last("ExecStart") == (
        "/opt/appliance/venv/bin/appliance --config /etc/appliance/appliance.toml admin"
    )
    assert loaded.last("IPAddressDeny") == "any" and loaded.last("WatchdogSec") == "30s"
    # not among the properties read from systemctl: the files' values stand
    assert loaded.settings["LoadCredentialEncrypted"] == unit.settings["LoadCredentialEncrypted"]


def test_a_unit_systemd_cannot_show_or_has_not_loaded_is_reported(root: Path) -> None:
    assert check(root, None) == [f"{ADMIN}: `systemctl show` failed: only the files were checked"]
    assert check(root, "LoadState=not-found\nNoNewPrivileges=no\n") == [
        f"{ADMIN}: not loaded by systemd (LoadState=not-found)"
    ]


def test_a_template_is_shown_through_its_instances(root: Path) -> None:
    wants = root / "etc/systemd/system/appliance.target.wants"
    wants.mkdir()
    (wants / "appliance-agent@0.service").symlink_to("../appliance-agent@.service")
    asked: list[str] = []

    def show(name: str) -> str:
        asked.append(name)
        return "LoadState=loaded\nNoNewPrivileges=no\n"

    problems = effective.check_installed(root, ["appliance-agent@.service"], show)
    assert asked == ["appliance-agent@0.service"]
    assert problems == [
        "appliance-agent@0.service: NoNewPrivileges=no, expected NoNewPrivileges=yes"
        " (as loaded by systemd)"
    ]

"""verify-isolation checks the units as systemd runs them: every drop-in folder counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.cli import ops
from appliance.isolation import report
from appliance.isolation.units import APPLIANCE_UNITS, UNITS_DIR

pytestmark = pytest.mark.unit
ADMIN = "appliance-admin.service"


def installed(root: Path, folder: str = "usr/lib/systemd/system") -> Path:
    """The shipped units installed under `root`/`folder`, as a package would."""
    units = root / folder
    units.mkdir(parents=True)
    for name in APPLIANCE_UNITS:
        shutil.copy(UNITS_DIR / name, units / name)
    return units


def dropin(root: Path, folder: str, name: str, text: str) -> None:
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[Service]\n{text}\n", encoding="utf-8")


def details(units_dir: Path) -> tuple[str, ...]:
    return report.check_units(units_dir).details


def test_the_installed_units_pass_as_shipped(tmp_path: Path) -> None:
    assert report.check_units(installed(tmp_path)).status == "pass"


def test_a_weakening_drop_in_in_etc_is_reported_for_a_unit_in_usr_lib(tmp_path: Path) -> None:
    units = installed(tmp_path)
    dropin(tmp_path, "etc/systemd/system", f"{ADMIN}.d/90-local.conf", "PrivateDevices=no")
    dropin(tmp_path, "run/systemd/system", f"{ADMIN}.d/91-reset.conf", "IPAddressDeny=")
    found = details(units)
    assert f"{ADMIN}: PrivateDevices=no without DeviceAllow= for the GPU nodes" in found
    assert f"{ADMIN}: IPAddressDeny=, expected IPAddressDeny=any" in found
    assert report.check_units(units).status == "fail"


def test_same_named_drop_ins_follow_etc_run_usr_lib_precedence(tmp_path: Path) -> None:
    units = installed(tmp_path)
    # the weak one in /usr/lib is overridden by the same name in /run, then in /etc
    dropin(tmp_path, "usr/lib/systemd/system", f"{ADMIN}.d/50-x.conf", "ProtectSystem=full")
    dropin(tmp_path, "run/systemd/system", f"{ADMIN}.d/50-x.conf", "ProtectSystem=strict")
    assert details(units) == ()
    dropin(tmp_path, "etc/systemd/system", f"{ADMIN}.d/50-x.conf", "ProtectHome=no")
    dropin(tmp_path, "run/systemd/system", f"{ADMIN}.d/50-x.conf", "ProtectHome=yes")
    assert details(units) == (f"{ADMIN}: ProtectHome=no, expected ProtectHome=yes",)


def test_drop_ins_apply_in_name_order_whichever_folder_holds_them(tmp_path: Path) -> None:
    units = installed(tmp_path)
    dropin(tmp_path, "etc/systemd/system", f"{ADMIN}.d/10-a.conf", "ProtectSystem=full")
    dropin(tmp_path, "usr/lib/systemd/system", f"{ADMIN}.d/20-b.conf", "ProtectSystem=strict")
    assert details(units) == ()
    dropin(tmp_path, "usr/lib/systemd/system", f"{ADMIN}.d/05-c.conf", "IPAddressAllow=any")
    dropin(tmp_path, "run/systemd/system", f"{ADMIN}.d/06-d.conf", "IPAddressAllow=")
    assert details(units) == ()  # the empty assignment reset the list


def test_a_unit_file_in_etc_replaces_the_one_in_usr_lib(tmp_path: Path) -> None:
    units = installed(tmp_path)
    weak = (UNITS_DIR / ADMIN).read_text("utf-8").replace("NoNewPrivileges=yes", "")
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    (tmp_path / "etc/systemd/system" / ADMIN).write_text(weak, encoding="utf-8")
    assert details(units) == (f"{ADMIN}: NoNewPrivileges= is missing",)


def test_prefix_type_template_and_instance_drop_ins_count(tmp_path: Path) -> None:
    units = installed(tmp_path, "etc/systemd/system")
    etc = "etc/systemd/system"
    dropin(tmp_path, etc, "appliance-.service.d/10-x.conf", "LimitCORE=infinity")
    assert f"{ADMIN}: LimitCORE=infinity, expected LimitCORE=0" in details(units)
    assert len(details(units)) == len(APPLIANCE_UNITS)  # appliance-agent@.service too
    shutil.rmtree(tmp_path / etc / "appliance-.service.d")
    dropin(tmp_path, "usr/lib/systemd/system", "service.d/10-x.conf", "DevicePolicy=auto")
    assert len(details(units)) == len(APPLIANCE_UNITS)  # every unit: DevicePolicy=auto
    shutil.rmtree(tmp_path / "usr/lib/systemd/system/service.d")
    dropin(tmp_path, etc, "appliance-agent@1.service.d/10-x.conf", "PrivateTmp=no")
    assert details(units) == ("appliance-agent@1.service: PrivateTmp=no, expected PrivateTmp=yes",)


def test_a_plain_folder_is_read_as_before(tmp_path: Path) -> None:
    """The repository's systemd/ folder (not a systemd search path): drop-ins next to it."""
    units = tmp_path / "systemd"
    shutil.copytree(UNITS_DIR, units)
    dropin(tmp_path, "etc/systemd/system", f"{ADMIN}.d/90-local.conf", "PrivateDevices=no")
    assert details(units) == ()
    dropin(tmp_path, "systemd", f"{ADMIN}.d/90-local.conf", "PrivateDevices=no")
    assert details(units) == (f"{ADMIN}: PrivateDevices=no without DeviceAllow= for the GPU nodes",)


def test_verify_isolation_finds_the_units_in_any_systemd_folder(tmp_path: Path) -> None:
    assert ops._units_dir(None, tmp_path) == UNITS_DIR  # not installed: the repository's
    units = installed(tmp_path)
    assert ops._units_dir(None, tmp_path) == units
    assert ops._units_dir(tmp_path / "x", tmp_path) == tmp_path / "x"


def test_the_types_drop_in_folder_yields_to_the_units_own(tmp_path: Path) -> None:
    units = installed(tmp_path)
    lib = "usr/lib/systemd/system"
    dropin(tmp_path, lib, "service.d/50-x.conf", "PrivateTmp=no")
    dropin(tmp_path, lib, f"{ADMIN}.d/50-x.conf", "PrivateTmp=yes")
    assert [p.split(":")[0] for p in details(units)] == [n for n in APPLIANCE_UNITS if n != ADMIN]

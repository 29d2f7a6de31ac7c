"""Is the data directory on an encrypted volume (dm-crypt / LUKS)?

Walks sysfs from the block device that holds the directory down through its slaves
(LVM on LUKS, LUKS on a partition): a device-mapper device whose `dm/uuid` starts with
`CRYPT-` means the data is encrypted at rest below the file system.
"""

from __future__ import annotations

import os
from pathlib import Path

from appliance.doctor.host import existing_parent
from appliance.doctor.report import Finding, fail, ok, warn

GROUP = "storage"
NAME = "data volume encrypted (LUKS)"
SYS_DEV_BLOCK = Path("/sys/dev/block")


def crypt_layers(device: Path, seen: frozenset[Path] = frozenset()) -> list[str]:
    """Names of the dm-crypt devices at or below `device` (a /sys/.../block/X folder)."""
    device = device.resolve()
    if device in seen or not device.exists():
        return []
    found = []
    uuid = device / "dm" / "uuid"
    if uuid.is_file() and uuid.read_text("ascii").strip().startswith("CRYPT-"):
        name = device / "dm" / "name"
        found.append(name.read_text("ascii").strip() if name.is_file() else device.name)
    slaves = device / "slaves"
    if slaves.is_dir():
        for slave in sorted(slaves.iterdir()):
            found += crypt_layers(slave, seen | {device})
    return found


def check_encrypted(data_dir: Path, sys_dev_block: Path = SYS_DEV_BLOCK) -> Finding:
    where = existing_parent(data_dir)
    st_dev = os.stat(where).st_dev
    major, minor = os.major(st_dev), os.minor(st_dev)
    if major == 0:
        return warn(
            GROUP,
            NAME,
            f"{where} is on a virtual file system (device 0:{minor}); check the volume by hand",
        )
    device = sys_dev_block / f"{major}:{minor}"
    if not device.exists():
        return warn(GROUP, NAME, f"no sysfs entry for device {major}:{minor} of {where}")
    layers = crypt_layers(device)
    block = device.resolve().name
    if layers:
        return ok(GROUP, NAME, f"{where} on {block}, dm-crypt: {', '.join(layers)}")
    return fail(
        GROUP,
        NAME,
        f"{where} is on {block}, which has no dm-crypt layer: put the data directory on a"
        " LUKS volume (hardware/README.md)",
    )


def checks(data_dir: Path) -> list[Finding]:
    return [check_encrypted(data_dir)]

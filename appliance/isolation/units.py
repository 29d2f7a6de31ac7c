"""Read systemd unit files and check the sandbox settings every appliance unit must have."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

UNITS_DIR = Path(__file__).resolve().parent.parent.parent / "systemd"
APPLIANCE_UNITS = (
    "appliance-agent@.service",
    "appliance-admin.service",
    "appliance-llm.service",
    "appliance-llm-cpu.service",
    "appliance-sip-edge.service",
)
# Type=notify + watchdog: the units whose main process is the appliance itself
OWN_UNITS = ("appliance-agent@.service", "appliance-admin.service", "appliance-sip-edge.service")

# Setting -> the value it must have (None: present with any non-empty value).
REQUIRED: Mapping[str, str | None] = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "DevicePolicy": "closed",
    "IPAddressDeny": "any",
    "LimitCORE": "0",
    "RestrictAddressFamilies": None,
    "SystemCallFilter": None,
    "LoadCredentialEncrypted": None,
}
OFFLINE_ENV = ("HF_HUB_OFFLINE=1", "DO_NOT_TRACK=1")
# What a unit without a private /dev may open (DeviceAllow=): the GPU's nodes only.
NVIDIA_DEVICES = ("/dev/nvidia", "char-nvidia")


@dataclass(frozen=True, slots=True)
class UnitFile:
    name: str
    settings: Mapping[str, tuple[str, ...]]  # key -> every value, in order ([Service] etc.)

    def last(self, key: str) -> str | None:
        values = self.settings.get(key)
        return values[-1] if values else None

    def environment(self) -> set[str]:
        return {item for value in self.settings.get("Environment", ()) for item in value.split()}


def parse_unit(path: Path, dropins: Iterable[Path] = ()) -> UnitFile:
    """A unit file's settings with its drop-ins applied in order (continuation lines joined,
    sections merged). As in systemd, an empty assignment (`DeviceAllow=`) resets a list
    setting: the values before it are dropped and "" stays, so `last()` still sees it."""
    settings: dict[str, list[str]] = {}
    for file in (path, *dropins):
        for key, value in _assignments(file):
            if value:
                settings.setdefault(key, []).append(value)
            else:
                settings[key] = [""]
    return UnitFile(path.name, {k: tuple(v) for k, v in settings.items()})


def dropins_of(path: Path) -> list[Path]:
    """The drop-ins next to a unit file (`<name>.d/*.conf`), in the order systemd reads them."""
    return sorted((path.parent / f"{path.name}.d").glob("*.conf"), key=lambda p: p.name)


def _assignments(path: Path) -> Iterator[tuple[str, str]]:
    pending = ""
    for raw in path.read_text("utf-8").splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        yield key.strip(), value.strip()


def template_of(name: str) -> str | None:
    """`a@1.service` -> `a@.service`; None for a name that is not an instance."""
    head, at, tail = name.partition("@")
    instance, dot, suffix = tail.rpartition(".")
    return f"{head}@.{suffix}" if at and dot and instance else None


def check_unit(unit: UnitFile) -> list[str]:
    """Problems with one unit's sandbox, as readable sentences ([] when it is sound).
    An instance (`appliance-agent@1.service`) is held to its template's rules."""
    kind = template_of(unit.name) or unit.name
    problems: list[str] = []
    for key, wanted in REQUIRED.items():
        if key == "LoadCredentialEncrypted" and kind == "appliance-sip-edge.service":
            continue  # Kamailio holds no secret (TLS keys live in the admin unit).
        value = unit.last(key)
        if value is None or (wanted is None and not value):
            problems.append(f"{unit.name}: {key}= is missing")
        elif wanted is not None and value != wanted:
            problems.append(f"{unit.name}: {key}={value}, expected {key}={wanted or '(empty)'}")
    allowed = " ".join(unit.settings.get("IPAddressAllow", ())).split()
    for entry in allowed:
        if entry in {"any", "0.0.0.0/0", "::/0"}:
            problems.append(f"{unit.name}: IPAddressAllow={entry} undoes IPAddressDeny=any")
    families = (unit.last("RestrictAddressFamilies") or "").split()
    if "AF_PACKET" in families or (families and families[0].startswith("~")):
        problems.append(f"{unit.name}: RestrictAddressFamilies={' '.join(families)} is too broad")
    if kind in OWN_UNITS:
        if unit.last("Type") != "notify":
            problems.append(f"{unit.name}: Type={unit.last('Type')}, expected notify")
        if not unit.last("WatchdogSec"):
            problems.append(f"{unit.name}: WatchdogSec= is missing")
    missing = [flag for flag in OFFLINE_ENV if flag not in unit.environment()]
    if missing:
        problems.append(f"{unit.name}: offline flags missing: {', '.join(missing)}")
    problems.extend(_check_devices(unit))
    if kind == "appliance-llm.service":
        problems.extend(_check_vllm(unit))
    return problems


def _check_devices(unit: UnitFile) -> list[str]:
    """A private /dev, or the host's /dev with the device cgroup (DevicePolicy=closed, a
    required setting) admitting the NVIDIA nodes only (the GPU engine, the gpu profile)."""
    private = unit.last("PrivateDevices")
    if private == "yes":
        return []
    shared = f"{unit.name}: PrivateDevices={private or '(unset)'}"
    allowed = [v for v in unit.settings.get("DeviceAllow", ()) if v]
    if not allowed:
        return [f"{shared} without DeviceAllow= for the GPU nodes"]
    others = [v for v in allowed if not v.startswith(NVIDIA_DEVICES)]
    if others:
        return [f"{shared} admits more than the NVIDIA nodes: {', '.join(others)}"]
    return []


def _check_vllm(unit: UnitFile) -> list[str]:
    problems: list[str] = []
    if "VLLM_NO_USAGE_STATS=1" not in unit.environment():
        problems.append(f"{unit.name}: VLLM_NO_USAGE_STATS=1 is missing")
    command = unit.last("ExecStart") or ""
    for flag in ("--host 127.0.0.1", "--no-enable-log-requests"):
        if flag not in command:
            problems.append(f"{unit.name}: ExecStart lacks {flag!r}")
    model = [v for v in unit.environment() if v.startswith("APPLIANCE_LLM_MODEL=")]
    if not model or not model[-1].partition("=")[2].startswith("/"):
        problems.append(f"{unit.name}: APPLIANCE_LLM_MODEL must be an absolute path")
    if "--api-key" in command:
        problems.append(f"{unit.name}: the API key is on argv")
    return problems


def check_units(directory: Path, names: tuple[str, ...] = APPLIANCE_UNITS) -> list[str]:
    problems: list[str] = []
    for name in names:
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: unit file not found in {directory}")
            continue
        problems.extend(check_unit(parse_unit(path, dropins_of(path))))
    return problems

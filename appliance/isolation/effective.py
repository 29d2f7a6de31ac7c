"""The settings systemd applies to an installed unit, not only those of its file.

systemd loads a unit from the first folder of its search path that holds it (for an
instance `a@1.service`, the template `a@.service`) and then applies every `*.conf`
drop-in from the `.d` folders of the unit's names in every folder of that path: the
name itself, the template's, the dash prefixes' (`appliance-.service.d`) and the type's
(`service.d`). Of drop-ins with the same file name the one found first wins (/etc before
/run before /usr/lib; in one folder the more specific name first, the type's last: the
order of systemd 252's unit_file_find_dropin_paths); all of them apply in file-name order,
whichever folder holds them.
This module does the same under a root folder (tests use a temporary one).

Where systemd runs (root "/" and /run/systemd/system present), `systemctl show` also gives
the values of the configuration it has loaded (a drop-in added without a daemon-reload, a
`set-property`); those are checked too.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from appliance.isolation.units import UnitFile, check_unit, parse_unit, template_of

# systemd's system unit search path (systemd.unit(5)), highest precedence first
SEARCH_PATH = (
    "etc/systemd/system.control",
    "run/systemd/system.control",
    "run/systemd/transient",
    "run/systemd/generator.early",
    "etc/systemd/system",
    "etc/systemd/system.attached",
    "run/systemd/system",
    "run/systemd/system.attached",
    "run/systemd/generator",
    "usr/local/lib/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
    "run/systemd/generator.late",
)
Show = Callable[[str], str | None]


def installed_root(directory: Path) -> Path | None:
    """The root under which `directory` is one of systemd's unit folders, else None."""
    parts = directory.absolute().parts
    for folder in SEARCH_PATH:
        tail = PurePosixPath(folder).parts
        if parts[-len(tail) :] == tail:
            return Path(*parts[: -len(tail)])
    return None


def unit_folders(root: Path) -> list[Path]:
    """The search path under `root`: folders that exist, each once (lib -> usr/lib)."""
    seen: set[Path] = set()
    found = []
    for folder in SEARCH_PATH:
        path = root / folder
        if path.is_dir() and path.resolve() not in seen:
            seen.add(path.resolve())
            found.append(path)
    return found


def _dropin_names(name: str) -> list[str]:
    """The unit names whose `.d` folders apply to `name`, most specific first (as
    systemd's unit_file_find_dirs: the name, its template, then its dash prefixes)."""
    names = [name]
    template = template_of(name)
    if template is not None:
        names += _dropin_names(template)
    stem, _, suffix = name.rpartition(".")
    prefix, _, instance = stem.partition("@")
    base = prefix[:-1] if prefix.endswith("-") else prefix
    if "-" in base.lstrip("-"):
        shorter = base[: base.rindex("-") + 1]
        names += _dropin_names(
            f"{shorter}@{instance}.{suffix}" if instance else f"{shorter}.{suffix}"
        )
    return names


def dropins(name: str, folders: list[Path]) -> list[Path]:
    """The drop-ins systemd applies to `name`, in the order it applies them."""
    suffix = name.rpartition(".")[2]
    order = [folder / f"{n}.d" for folder in folders for n in _dropin_names(name)]
    order += [folder / f"{suffix}.d" for folder in folders]  # the type's, most generic, last
    chosen: dict[str, Path] = {}
    for directory in order:
        for conf in sorted(directory.glob("*.conf")) if directory.is_dir() else ():
            chosen.setdefault(conf.name, conf)  # the first folder's file of a name wins
    return [chosen[key] for key in sorted(chosen)]


def effective_unit(name: str, folders: list[Path]) -> UnitFile | None:
    """The unit's file (or its template's) with every drop-in applied; None if absent."""
    template = template_of(name)
    for file_name in (name,) if template is None else (name, template):
        for folder in folders:  # an instance's own file anywhere before its template
            if (folder / file_name).is_file():
                unit = parse_unit(folder / file_name, dropins(name, folders))
                return dataclasses.replace(unit, name=name)
    return None


def instances(template: str, folders: list[Path]) -> list[str]:
    """Instances of a template that are enabled or have drop-ins of their own."""
    head, _, suffix = template.partition("@")
    found: set[str] = set()
    for folder in folders:
        for pattern in (f"*.wants/{head}@?*{suffix}", f"*.requires/{head}@?*{suffix}"):
            found.update(path.name for path in folder.glob(pattern))
        found.update(p.name[:-2] for p in folder.glob(f"{head}@?*{suffix}.d") if p.is_dir())
    return sorted(found)


def check_installed(root: Path, names: Iterable[str], show: Show | None = None) -> list[str]:
    """Problems of the installed units under `root` (and, with `show`, of what systemd
    has loaded); a template is checked with each of its instances found."""
    folders = unit_folders(root)
    problems: list[str] = []
    for name in names:
        for unit_name in (name, *instances(name, folders)) if "@." in name else (name,):
            problems += _check_one(unit_name, folders, show)
    return problems


def _check_one(name: str, folders: list[Path], show: Show | None) -> list[str]:
    unit = effective_unit(name, folders)
    if unit is None:
        return [f"{name}: unit file not found in any of {', '.join(map(str, folders))}"]
    problems = check_unit(unit)
    if show is None or "@." in name:  # systemd loads instances, not templates
        return problems
    text = show(name)
    if text is None:
        return [*problems, f"{name}: `systemctl show` failed: only the files were checked"]
    shown = parse_show(text)
    state = shown.get("LoadState", ("(none)",))[-1]
    if state != "loaded":
        return [*problems, f"{name}: not loaded by systemd (LoadState={state})"]
    for problem in check_unit(unit_from_show(unit, shown)):
        if problem not in problems:
            problems.append(f"{problem} (as loaded by systemd)")
    return problems


# `systemctl show` property -> the unit-file setting check_unit reads. Only these: for
# other settings (LoadCredentialEncrypted=) the files' values stand.
SHOWN = {
    key: key
    for key in (
        "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
        "CapabilityBoundingSet", "DevicePolicy", "IPAddressDeny", "IPAddressAllow",
        "LimitCORE", "RestrictAddressFamilies", "SystemCallFilter", "Type", "Environment",
        "PrivateDevices", "DeviceAllow", "ExecStart",
    )
} | {"WatchdogUSec": "WatchdogSec"}  # fmt: skip
_EVERYWHERE = {"0.0.0.0/0", "::/0"}
_ARGV = re.compile(r"\bargv\[\]=(.*?) ; ")
_PERMISSIONS = re.compile(r"[rwm]+")


def systemctl_show(name: str) -> str | None:
    """`systemctl show` of the unit's checked properties; None where that fails."""
    props = ",".join(["LoadState", *SHOWN])
    try:
        done = subprocess.run(
            ["systemctl", "show", name, f"--property={props}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def parse_show(text: str) -> dict[str, tuple[str, ...]]:
    """`Key=value` lines; a key printed more than once keeps every value, in order."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        if eq and key.strip():
            values.setdefault(key.strip(), []).append(value.strip())
    return {key: tuple(v) for key, v in values.items()}


def unit_from_show(files: UnitFile, shown: dict[str, tuple[str, ...]]) -> UnitFile:
    """The unit as systemd has it loaded: shown values in the unit-file form check_unit
    reads (`0.0.0.0/0 ::/0` is `any`, `WatchdogUSec=0` is no watchdog, ExecStart's argv);
    the files' values for settings systemctl did not print."""
    settings = dict(files.settings)
    for prop, key in SHOWN.items():
        if prop in shown:
            settings[key] = _normalise(prop, shown[prop])
    return dataclasses.replace(files, settings=settings)


def _normalise(prop: str, values: tuple[str, ...]) -> tuple[str, ...]:
    if prop == "IPAddressDeny" and set(" ".join(values).split()) >= _EVERYWHERE:
        return ("any",)
    if prop == "WatchdogUSec":
        return tuple("" if v in {"0", "infinity"} else v for v in values)
    if prop == "ExecStart":
        return tuple(m.group(1) for v in values if (m := _ARGV.search(v + " ")))
    if prop == "DeviceAllow":  # "path rw" per entry, on one line or several
        entries: list[str] = []
        for token in " ".join(values).split():
            if _PERMISSIONS.fullmatch(token) and entries:
                entries[-1] += f" {token}"
            else:
                entries.append(token)
        return tuple(entries) or ("",)
    return values

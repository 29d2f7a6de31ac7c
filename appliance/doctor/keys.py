"""Keys readable by the right units, and by no one else.

Installed host (unit files in /etc/systemd/system): every `LoadCredentialEncrypted=`
source must exist, belong to root, be closed to group and others, and (as root, with
systemd-creds) decrypt on this host. Development host: the key files named in the
config must belong to the user the appliance runs as and be readable by it only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from appliance.config import Settings
from appliance.doctor.report import Finding, fail, ok, warn
from appliance.isolation.units import APPLIANCE_UNITS, parse_unit

GROUP = "keys"
SERVICE_USER = "appliance"


def _mode_problem(path: Path, owner: int) -> str | None:
    st = path.stat()
    mode = st.st_mode & 0o777
    if mode & 0o077:
        return f"mode {mode:o}: group/others can read it (want 0400 or 0600)"
    if st.st_uid != owner:
        return f"owned by uid {st.st_uid}, not uid {owner}"
    return None


def _decrypts(name: str, path: Path) -> bool | None:
    """True/False when systemd-creds can tell (as root); None when it cannot be asked."""
    exe = shutil.which("systemd-creds")
    if exe is None or os.geteuid() != 0:
        return None
    argv = [exe, "decrypt", f"--name={name}", str(path), "-"]
    try:
        result = subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.returncode == 0


def credentials(units_dir: Path) -> dict[Path, tuple[str, set[str]]]:
    """Credential source file -> (credential name, units that load it)."""
    found: dict[Path, tuple[str, set[str]]] = {}
    for unit in APPLIANCE_UNITS:
        path = units_dir / unit
        if not path.is_file():
            continue
        for value in parse_unit(path).settings.get("LoadCredentialEncrypted", ()):
            name, _, source = value.partition(":")
            entry = found.setdefault(Path(source), (name, set()))
            entry[1].add(unit)
    return found


def _enabled(units_dir: Path, unit: str) -> bool:
    """`systemctl enable` left a link in some *.wants/ folder (agent@: any instance)."""
    pattern = unit.replace("@.service", "@*.service")
    return any(units_dir.glob(f"*.wants/{pattern}"))


def check_credentials(units_dir: Path, root: Path = Path("/")) -> list[Finding]:
    findings = []
    for source, (name, users) in sorted(credentials(units_dir).items()):
        path = root / source.relative_to("/")
        who = ", ".join(sorted(users))
        if not path.is_file():
            if any(_enabled(units_dir, unit) for unit in users):
                findings.append(fail(GROUP, name, f"{source} missing (needed by {who})"))
            else:
                findings.append(warn(GROUP, name, f"{source} missing ({who} not enabled)"))
            continue
        problem = _mode_problem(path, 0)
        if problem:
            findings.append(fail(GROUP, name, f"{source}: {problem}"))
            continue
        decrypts = _decrypts(name, path)
        if decrypts is False:
            findings.append(fail(GROUP, name, f"{source} does not decrypt on this host"))
        else:
            how = "decrypts on this host" if decrypts else "encrypted credential"
            findings.append(
                ok(
                    GROUP,
                    name,
                    f"{source}: root 0{path.stat().st_mode & 0o777:o}, {how}, for {who}",
                )
            )
    return findings


def service_uid() -> int:
    try:
        return pwd.getpwnam(SERVICE_USER).pw_uid
    except KeyError:
        return os.geteuid()


def check_key_files(settings: Settings, owner: int | None = None) -> list[Finding]:
    owner = service_uid() if owner is None else owner
    files = {
        "db.key": settings.store.key_file,
        "audit-signing.key": settings.store.audit_key_file,
        "llm.key": settings.llm.api_key_file,
    }
    findings = []
    for name, configured in files.items():
        path = settings.path(configured)
        if not path.exists():
            findings.append(warn(GROUP, name, f"{path} not there yet (made on first start)"))
            continue
        problem = _mode_problem(path, owner)
        if problem:
            findings.append(fail(GROUP, name, f"{path}: {problem}"))
        else:
            mode = path.stat().st_mode & 0o777
            findings.append(ok(GROUP, name, f"{path}: uid {owner}, mode 0{mode:o}"))
    return findings


def checks(settings: Settings, units_dir: Path | None) -> list[Finding]:
    if units_dir is not None and (units_dir / "appliance-admin.service").is_file():
        found = check_credentials(units_dir)
        if found:
            return found
    return check_key_files(settings)

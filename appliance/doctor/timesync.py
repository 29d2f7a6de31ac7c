"""Is the clock synchronised? (audit timestamps and signed reports depend on it)

Asks, in order: timedatectl (systemd-timesyncd or any NTP daemon systemd knows about),
then chronyc. Not synchronised is a failure; no way to tell is a warning.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from appliance.doctor.report import Finding, fail, ok, warn

GROUP = "time"
NAME = "clock synchronised (NTP)"
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")


def _run(argv: list[str]) -> str | None:
    exe = shutil.which(argv[0])
    if exe is None:
        return None
    try:
        result = subprocess.run(
            [exe, *argv[1:]], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def from_timedatectl(output: str) -> tuple[bool, str]:
    values = dict(line.partition("=")[::2] for line in output.splitlines())
    synced = values.get("NTPSynchronized") == "yes"
    return (
        synced,
        f"timedatectl: NTP {values.get('NTP', '?')}, synchronised {'yes' if synced else 'no'}",
    )


def from_chronyc(output: str) -> tuple[bool, str]:
    pairs = (line.partition(":") for line in output.splitlines())
    values = {key.strip(): value.strip() for key, _, value in pairs}
    leap = values.get("Leap status", "unknown")
    return leap == "Normal", f"chrony: leap status {leap}, source {values.get('Reference ID', '?')}"


def check() -> Finding:
    output = _run(["timedatectl", "show", "-p", "NTPSynchronized", "-p", "NTP"])
    if output and "NTPSynchronized=" in output:
        synced, detail = from_timedatectl(output)
        if synced or TIMESYNCD_FLAG.exists():
            return ok(GROUP, NAME, detail)
        chrony = _run(["chronyc", "-n", "tracking"])
        if chrony:
            synced, detail = from_chronyc(chrony)
        return (ok if synced else fail)(GROUP, NAME, detail)
    chrony = _run(["chronyc", "-n", "tracking"])
    if chrony:
        synced, detail = from_chronyc(chrony)
        return (ok if synced else fail)(GROUP, NAME, detail)
    if TIMESYNCD_FLAG.exists():
        return ok(GROUP, NAME, f"{TIMESYNCD_FLAG} present")
    return warn(GROUP, NAME, "no timedatectl or chronyc answer (no systemd here?): check by hand")


def checks() -> list[Finding]:
    return [check()]

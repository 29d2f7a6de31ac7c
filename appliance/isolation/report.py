"""`appliance verify-isolation`: run every check, print a readable report, write JSON."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from appliance.isolation import effective, firewall, probes, ruleset, sockets, units
from appliance.isolation.settings import IsolationSettings

Status = Literal["pass", "fail", "warn"]
# The appliance itself forces these flags in code (__main__); external runtimes need them
# in their environment.
RUNTIME_MARKERS = ("vllm serve", "llama_cpp.server")
RUNTIME_FLAGS = ("HF_HUB_OFFLINE=1", "DO_NOT_TRACK=1")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    details: tuple[str, ...] = ()


@dataclass(slots=True)
class Report:
    host: str
    started: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def to_json(self) -> str:
        data = {"host": self.host, "started": self.started, "passed": self.passed}
        data["checks"] = [asdict(check) for check in self.checks]
        return json.dumps(data, indent=2)

    def to_text(self) -> str:
        lines = [f"Isolation report for {self.host} at {self.started}"]
        for check in self.checks:
            lines.append(f"  [{check.status.upper():4}] {check.name}")
            lines.extend(f"         {detail}" for detail in check.details)
        lines.append("RESULT: " + ("PASS" if self.passed else "FAIL"))
        return "\n".join(lines)


def check_ruleset() -> Check:
    try:
        loaded = ruleset.load_ruleset()
    except (OSError, ValueError) as exc:
        return Check("firewall ruleset loaded", "fail", (f"cannot read the ruleset: {exc}",))
    problems = ruleset.check_loaded(loaded)
    if problems:
        return Check("firewall ruleset: default drop, no broad accepts", "fail", tuple(problems))
    return Check("firewall ruleset: default drop, no broad accepts", "pass")


def check_egress(settings: IsolationSettings) -> Check:
    p = settings.probes
    runs: list[Callable[[], probes.ProbeResult]] = [
        *(lambda t=t: probes.probe_tcp(t, p.timeout_s) for t in p.tcp),
        *(lambda t=t: probes.probe_udp(t, p.timeout_s) for t in p.udp),
        *(lambda t=t: probes.probe_icmp(t, p.timeout_s) for t in p.icmp),
        *(lambda t=t: probes.probe_dns(t, p.timeout_s) for t in p.dns_names),
    ]
    if not runs:
        return Check("egress probes", "warn", ("no probe targets configured",))
    results = [run() for run in runs]
    details, leaks = [], 0
    for r in results:
        # A target the ruleset lets out on purpose (the SMTP relay) is a flow, not a leak.
        allowed = firewall.allowed_way_out(settings.firewall, r.kind, r.target)
        verdict = "ESCAPED" if r.escaped else "blocked"
        if allowed:
            verdict = f"allowed ({allowed}), {'reached' if r.escaped else 'not reached'}"
        leaks += r.escaped and not allowed
        details.append(f"{verdict} {r.kind} {r.target}: {r.detail}")
    status: Status = "fail" if leaks else "pass"
    return Check("egress probes (all must fail)", status, tuple(details))


def check_listeners(settings: IsolationSettings, proc_net: Path) -> Check:
    found = sockets.listeners(proc_net)
    expected = set(settings.probes.listening)
    extra = sockets.unexpected(found, expected)
    exposed = {item.key for item in found if not item.loopback_only}
    details = [f"unexpected listener {i.proto} {i.address}:{i.port}" for i in extra]
    details += [f"expected but not listening: {key}" for key in sorted(expected - exposed)]
    status: Status = "fail" if extra else ("warn" if details else "pass")
    return Check("listening sockets match the expected set", status, tuple(details))


def check_units(units_dir: Path, run_systemd: Path = Path("/run/systemd/system")) -> Check:
    """The units' sandboxes. In one of systemd's unit folders, as systemd applies them:
    drop-ins from every folder of its search path (and `systemctl show` where systemd
    runs); in another folder (the repository's systemd/), with the drop-ins next to them."""
    root = effective.installed_root(units_dir)
    if root is None:
        problems = units.check_units(units_dir)
    else:
        live = root == Path("/") and run_systemd.is_dir()
        show = effective.systemctl_show if live else None
        problems = effective.check_installed(root, units.APPLIANCE_UNITS, show)
    name = f"unit sandboxes ({units_dir})"
    return Check(name, "fail" if problems else "pass", tuple(problems))


def check_cgroup_ip_filtering(run_systemd: Path = Path("/run/systemd/system")) -> Check:
    """IPAddressDeny= is enforced by BPF programs on the unified (v2) cgroup hierarchy."""
    name = "cgroup IP filtering (IPAddressDeny=) can be enforced"
    if not run_systemd.exists():
        return Check(name, "warn", ("systemd is not running here: unit files checked only",))
    mounts = Path("/proc/self/mountinfo").read_text("utf-8")
    if any(" - cgroup2 " in line for line in mounts.splitlines()):
        return Check(name, "pass")
    return Check(name, "fail", ("no cgroup2 hierarchy mounted: IPAddressDeny= is inert",))


def check_runtime_flags(proc: Path = Path("/proc")) -> Check:
    """Every running model runtime must have the offline flags in its environment."""
    details = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if not any(marker in cmdline for marker in RUNTIME_MARKERS):
                continue
            env = set((entry / "environ").read_bytes().decode(errors="replace").split("\0"))
        except OSError:
            continue
        missing = [flag for flag in RUNTIME_FLAGS if flag not in env]
        if missing:
            details.append(f"pid {entry.name} ({cmdline[:60]}) lacks {', '.join(missing)}")
    name = "model runtimes run with offline flags"
    return Check(name, "fail" if details else "pass", tuple(details))


def run_all(settings: IsolationSettings, units_dir: Path, *, proc_net: Path) -> Report:
    report = Report(socket.gethostname(), datetime.now(UTC).isoformat(timespec="seconds"))
    report.checks.append(check_ruleset())
    report.checks.append(check_egress(settings))
    report.checks.append(check_listeners(settings, proc_net))
    report.checks.append(check_units(units_dir))
    report.checks.append(check_cgroup_ip_filtering())
    report.checks.append(check_runtime_flags())
    return report

"""Network namespaces of a test's own, for the rendered nftables ruleset.

Three hosts: `appl` (the appliance, 198.18.0.1 and 198.18.1.1), `pbx` (198.18.0.2, plus
198.18.0.3 as the management workstation) and `inet` (198.18.1.2 and a "public"
198.19.255.1, which counts every packet that reaches it). Nothing outside 198.18.0.0/15 is
ever addressed. Needs root, `ip` and `nft`; nothing touches the host's own namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.isolation.firewall import render
from appliance.isolation.settings import Firewall

needs_netns = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
    reason="needs root, nft and ip (network namespaces)",
)


@dataclass(frozen=True)
class Hosts:
    appl: str
    pbx: str
    inet: str
    settings: Path  # the isolation settings verify-isolation reads


def hosts_named(tag: str, tmp: Path) -> Hosts:
    return Hosts(f"appl-{tag}", f"pbx-{tag}", f"inet-{tag}", tmp / "isolation.toml")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def run_in(ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command in namespace `ns`; its output captured as text."""
    return subprocess.run(
        ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=60, check=False
    )


def inet_packets(hosts: Hosts) -> int:
    """Packets that reached the "internet" host since the namespaces were made."""
    out = run_in(hosts.inet, "nft", "-j", "list", "counter", "inet", "count", "seen").stdout
    for item in json.loads(out)["nftables"]:
        if "counter" in item:
            return int(item["counter"]["packets"])
    raise AssertionError(out)


def dropped(ns: str, chain: str) -> int:
    """Packets the appliance table's `counter drop` at the end of `chain` has dropped."""
    out = run_in(ns, "nft", "-j", "list", "chain", "inet", "appliance", chain).stdout
    for item in json.loads(out)["nftables"]:
        exprs = item.get("rule", {}).get("expr", [])
        if any("drop" in e for e in exprs):
            for e in exprs:
                if "counter" in e:
                    return int(e["counter"]["packets"])
    raise AssertionError(out)


def build(hosts: Hosts, tmp: Path) -> None:
    """The three namespaces, their links and addresses, the "internet" packet counter."""
    for ns in (hosts.appl, hosts.pbx, hosts.inet):
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        # No IPv6 link-local chatter (DAD, router solicitations): every counted packet
        # is one the appliance chose to send.
        run_in(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
    ip("-n", hosts.appl, "link", "add", "ap", "type", "veth", "peer", "pa", "netns", hosts.pbx)
    ip("-n", hosts.appl, "link", "add", "ai", "type", "veth", "peer", "ia", "netns", hosts.inet)
    for ns, dev, addrs in (
        (hosts.appl, "ap", ["198.18.0.1/24"]),
        (hosts.pbx, "pa", ["198.18.0.2/24", "198.18.0.3/24"]),
        (hosts.appl, "ai", ["198.18.1.1/24"]),
        (hosts.inet, "ia", ["198.18.1.2/24"]),
        (hosts.inet, "lo", ["198.19.255.1/32"]),
    ):
        for addr in addrs:
            ip("-n", ns, "addr", "add", addr, "dev", dev)
        ip("-n", ns, "link", "set", dev, "up")
    ip("-n", hosts.appl, "route", "add", "default", "via", "198.18.1.2")
    ip("-n", hosts.inet, "route", "add", "198.18.0.0/24", "via", "198.18.1.1")
    (tmp / "count.nft").write_text(
        "table inet count {\n counter seen { }\n chain pre {\n"
        "  type filter hook prerouting priority -300; policy accept;\n"
        '  iifname "ia" counter name "seen"\n }\n}\n'
    )
    assert run_in(hosts.inet, "nft", "-f", str(tmp / "count.nft")).returncode == 0
    # `ip netns exec` bind-mounts this over /etc/resolv.conf: DNS goes to the "internet".
    resolv = Path("/etc/netns") / hosts.appl
    resolv.mkdir(parents=True, exist_ok=True)
    (resolv / "resolv.conf").write_text("nameserver 198.18.1.2\noptions timeout:1 attempts:1\n")


def teardown(hosts: Hosts) -> None:
    for ns in (hosts.appl, hosts.pbx, hosts.inet):
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
    shutil.rmtree(Path("/etc/netns") / hosts.appl, ignore_errors=True)


def load(hosts: Hosts, tmp: Path, firewall: Firewall) -> None:
    """Load the ruleset `render(firewall)` makes into the appliance namespace (atomic)."""
    rules = tmp / "appliance.nft"
    rules.write_text(render(firewall))
    result = run_in(hosts.appl, "nft", "-f", str(rules))
    assert result.returncode == 0, result.stderr


def host_tables() -> str:
    """The host's own nftables tables (must be the same before and after a test)."""
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout

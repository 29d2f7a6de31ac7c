"""The rendered nftables ruleset, enforced in network namespaces of our own.

Three hosts (tests/integration/netns.py): `appl` (the appliance, ruleset loaded), `pbx`
(198.18.0.2, plus 198.18.0.3 as the management workstation) and `inet` (198.18.1.2 and a
"public" 198.19.255.1, which counts every packet that reaches it). Nothing outside
198.18.0.0/15 is ever addressed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.isolation import signing
from appliance.isolation.firewall import render
from appliance.isolation.settings import Firewall
from appliance.isolation.units import UNITS_DIR
from tests.integration.netns import (
    Hosts,
    build,
    host_tables,
    hosts_named,
    inet_packets,
    load,
    needs_netns,
    run_in,
    teardown,
)

pytestmark = [pytest.mark.integration, needs_netns]

FIREWALL = Firewall(
    pbx=("198.18.0.2/32",),
    management=("198.18.0.3/32",),
    ntp=("198.18.0.2/32",),
    dns=(),
    sip_ports=(5060, 5061),
    rtp_ports=(40000, 40099),
)
SERVED = {"tcp": (5060, 5061, 443, 8080), "udp": (5060, 40000)}

SERVER = textwrap.dedent(
    """
    import selectors, socket, sys
    sel = selectors.DefaultSelector()
    for proto, port in [a.split(":") for a in sys.argv[1:]]:
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(port)))
        if proto == "tcp":
            s.listen()
        sel.register(s, selectors.EVENT_READ, proto)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "tcp":
                c, _ = s.accept(); c.sendall(b"ok"); c.close()
            else:
                data, peer = s.recvfrom(512); s.sendto(b"ok", peer)
    """
)

CLIENT = textwrap.dedent(
    """
    import socket, sys
    proto, dst, port, src = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(0.5)
    if src:
        s.bind((src, 0))
    try:
        s.connect((dst, port))
        s.send(b"hello")
        sys.exit(0 if s.recv(16) == b"ok" else 1)
    except OSError:
        sys.exit(1)
    """
)


def _reach(ns: str, proto: str, dst: str, port: int, src: str = "") -> bool:
    return run_in(ns, sys.executable, "-c", CLIENT, proto, dst, str(port), src).returncode == 0


def _write_settings(path: Path) -> None:
    listening = [f'"{p}:{n}"' for p, ports in SERVED.items() for n in ports]
    path.write_text(
        textwrap.dedent(
            f"""
            [probes]
            tcp = ["198.18.1.2:443", "198.19.255.1:443"]
            udp = ["198.18.1.2:53", "198.19.255.1:123"]
            icmp = ["198.18.1.2", "198.19.255.1"]
            dns_names = ["example.com"]
            listening = [{", ".join(listening)}]
            timeout_s = 0.5
            """
        )
    )


def _load(hosts: Hosts, tmp: Path) -> None:
    load(hosts, tmp, FIREWALL)


@pytest.fixture(scope="module", autouse=True)
def host_untouched() -> Iterator[None]:
    """The host's own ruleset must never change: everything happens in our namespaces."""
    before = host_tables()
    yield
    assert host_tables() == before, "a ruleset leaked into the host's network namespace"


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    tmp = tmp_path_factory.mktemp("netns")
    built = hosts_named(str(os.getpid()), tmp)
    args = [f"{p}:{n}" for p, ports in SERVED.items() for n in ports]
    servers: list[subprocess.Popen[str]] = []
    try:
        build(built, tmp)
        _write_settings(built.settings)
        for ns in (built.appl, built.pbx):
            server = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, *args],
                stdout=subprocess.PIPE,
                text=True,
            )
            servers.append(server)
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        _load(built, tmp)
        yield built
    finally:
        for server in servers:
            server.kill()
            server.wait()
        teardown(built)


def _verify(hosts: Hosts, tmp: Path) -> tuple[int, str, dict[str, object]]:
    out = tmp / "report.json"
    key = tmp / "audit-signing.key"
    key.write_text("ab" * 32)
    key.chmod(0o400)
    result = run_in(
        hosts.appl,
        sys.executable,
        "-m",
        "appliance",
        "verify-isolation",
        "--settings",
        str(hosts.settings),
        "--units-dir",
        str(UNITS_DIR),
        "--json",
        str(out),
        "--sign-key",
        str(key),
    )
    return result.returncode, result.stdout + result.stderr, json.loads(out.read_text())


def test_rendered_ruleset_is_accepted_by_nft(tmp_path: Path) -> None:
    rules = tmp_path / "appliance.nft"
    rules.write_text(render(FIREWALL))
    result = subprocess.run(["nft", "-c", "-f", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_allowed_flows_pass(hosts: Hosts) -> None:
    assert _reach(hosts.pbx, "udp", "198.18.0.1", 5060, "198.18.0.2")  # SIP in
    assert _reach(hosts.pbx, "tcp", "198.18.0.1", 5061, "198.18.0.2")  # SIP over TLS in
    assert _reach(hosts.pbx, "udp", "198.18.0.1", 40000, "198.18.0.2")  # RTP in
    assert _reach(hosts.pbx, "tcp", "198.18.0.1", 443, "198.18.0.3")  # HTTPS from mgmt
    assert _reach(hosts.appl, "udp", "198.18.0.2", 5060)  # SIP out to the PBX


def test_other_flows_are_dropped(hosts: Hosts) -> None:
    before = inet_packets(hosts)
    assert not _reach(hosts.pbx, "tcp", "198.18.0.1", 443, "198.18.0.2")  # PBX is not mgmt
    assert not _reach(hosts.pbx, "tcp", "198.18.0.1", 8080, "198.18.0.3")  # port not open
    assert not _reach(hosts.pbx, "udp", "198.18.0.1", 40000, "198.18.0.3")  # RTP: PBX only
    assert not _reach(hosts.appl, "tcp", "198.18.0.2", 443)  # only SIP/NTP to the PBX
    for proto, port in (("tcp", 443), ("udp", 53), ("tcp", 22), ("udp", 123)):
        assert not _reach(hosts.appl, proto, "198.19.255.1", port)
    icmp = "from appliance.isolation.probes import probe_icmp as p; print(p('198.18.1.2', 0.5))"
    assert "escaped=False" in run_in(hosts.appl, sys.executable, "-c", icmp).stdout
    assert inet_packets(hosts) == before == 0


def test_verify_isolation_passes_with_the_ruleset(hosts: Hosts, tmp_path: Path) -> None:
    rc, text, data = _verify(hosts, tmp_path)
    print(text)
    assert rc == 0, text
    assert data["passed"] is True
    assert signing.check(data)
    assert "RESULT: PASS" in text
    assert inet_packets(hosts) == 0  # the probes themselves never left the box


def test_verify_isolation_fails_when_egress_is_opened(hosts: Hosts, tmp_path: Path) -> None:
    opened = run_in(hosts.appl, "nft", "insert", "rule", "inet", "appliance", "output", "accept")
    assert opened.returncode == 0, opened.stderr
    try:
        rc, text, data = _verify(hosts, tmp_path)
    finally:
        _load(hosts, tmp_path)
    print(text)
    assert rc == 1
    assert data["passed"] is False
    assert "accepts any peer (output)" in text
    assert "ESCAPED tcp 198.19.255.1:443" in text
    assert inet_packets(hosts) > 0


def test_verify_isolation_fails_without_a_ruleset(hosts: Hosts, tmp_path: Path) -> None:
    assert run_in(hosts.appl, "nft", "delete", "table", "inet", "appliance").returncode == 0
    try:
        rc, text, _ = _verify(hosts, tmp_path)
    finally:
        _load(hosts, tmp_path)
    assert rc == 1
    assert "no output chain with policy drop" in text


def _sipp(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, "sipp", *args, "-m", "1", "-nostdin", "-timeout", "5s"]


@pytest.mark.skipif(shutil.which("sipp") is None, reason="needs SIPp (Debian sip-tester)")
def test_sip_call_from_the_pbx_is_answered_and_others_are_not(hosts: Hosts, tmp_path: Path) -> None:
    uas = subprocess.Popen(
        _sipp(hosts.appl, "-sn", "uas", "-i", "198.18.0.1", "-p", "5061"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        stranger = subprocess.run(
            _sipp(
                hosts.pbx,
                "-sn",
                "uac",
                "198.18.0.1:5061",
                "-i",
                "198.18.0.3",
                "-p",
                "5070",
                "-recv_timeout",
                "1500",
            ),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert stranger.returncode != 0  # the management address is not a PBX
        call = subprocess.run(
            _sipp(
                hosts.pbx,
                "-sn",
                "uac",
                "198.18.0.1:5061",
                "-i",
                "198.18.0.2",
                "-p",
                "5070",
                "-d",
                "200",
            ),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert call.returncode == 0, call.stdout[-2000:] + call.stderr[-2000:]
        assert uas.wait(timeout=10) == 0
    finally:
        uas.kill()
        uas.wait()

"""verify-isolation's building blocks against real sockets and real nft JSON."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from appliance.errors import ConfigError
from appliance.isolation import firewall, report, ruleset, settings, signing, sockets

pytestmark = pytest.mark.integration


def test_listeners_are_read_from_proc_net() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as exposed,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as local,
    ):
        exposed.bind(("0.0.0.0", 0))
        exposed.listen()
        local.bind(("127.0.0.1", 0))
        tcp_port, udp_port = exposed.getsockname()[1], local.getsockname()[1]
        found = sockets.listeners()
        keys = {(item.proto, item.address, item.port) for item in found}
        assert ("tcp", "0.0.0.0", tcp_port) in keys
        assert ("udp", "127.0.0.1", udp_port) in keys
        extra = {item.key for item in sockets.unexpected(found, set())}
        assert f"tcp:{tcp_port}" in extra
        assert f"udp:{udp_port}" not in extra  # loopback only: not reachable off the box
        assert f"tcp:{tcp_port}" not in {
            item.key for item in sockets.unexpected(found, {f"tcp:{tcp_port}"})
        }


def _rule(chain: str, *exprs: dict[str, object]) -> dict[str, object]:
    return {"rule": {"family": "inet", "table": "t", "chain": chain, "handle": 7, "expr": exprs}}


def test_broad_accepts_and_policies_are_found() -> None:
    chains = [
        {"chain": {"family": "inet", "table": "t", "name": h, "hook": h, "policy": "drop"}}
        for h in ("input", "output")
    ]
    dport = {"match": {"op": "==", "left": {"payload": {"field": "dport"}}, "right": 53}}
    anywhere = {"prefix": {"addr": "0.0.0.0", "len": 0}}
    daddr_any = {"match": {"op": "==", "left": {"payload": {"field": "daddr"}}, "right": anywhere}}
    daddr_dns = {
        "match": {"op": "==", "left": {"payload": {"field": "daddr"}}, "right": "10.0.0.5"}
    }
    data = {
        "nftables": [
            *chains,
            _rule("output", dport, {"accept": None}),
            _rule("output", daddr_any, {"accept": None}),
            _rule("output", daddr_dns, dport, {"accept": None}),
        ]
    }
    problems = ruleset.check_loaded(data)
    assert problems[0] == "no forward chain with policy drop"
    assert len([p for p in problems if "accepts any peer (output)" in p]) == 2


def test_isolation_settings_reject_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as bad_address:
        settings.parse({"firewall": {"pbx": ["10.0.0.300"]}})
    assert bad_address.value.code == "config-invalid"
    with pytest.raises(ConfigError):
        settings.parse({"firewall": {"rtp_ports": [50000, 40000]}})
    with pytest.raises(ConfigError) as missing:
        settings.load(tmp_path / "absent.toml")
    assert missing.value.code == "config-missing"
    parsed = settings.parse({"firewall": {"pbx": ["10.1.2.7"]}, "probes": {"tcp": ["1.2.3.4:443"]}})
    assert parsed.firewall.pbx == ("10.1.2.7/32",)


def test_runtime_flags_check_reads_process_environments(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    for pid, env in (("101", b"HF_HUB_OFFLINE=1\0DO_NOT_TRACK=1\0"), ("102", b"PATH=/bin\0")):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(b"python\0-m\0llama_cpp.server\0")
        (proc / pid / "environ").write_bytes(env)
    check = report.check_runtime_flags(proc)
    assert check.status == "fail"
    assert check.details == (
        "pid 102 (python -m llama_cpp.server ) lacks HF_HUB_OFFLINE=1, DO_NOT_TRACK=1",
    )


def test_signed_report_detects_any_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    key = tmp_path / "audit-signing.key"
    key.write_text("cd" * 32)
    key.chmod(0o400)
    data = {"host": "h", "started": "2026-11-24T14:00:00+00:00", "passed": False, "checks": []}
    signed = signing.sign(data, key)
    assert signing.check(signed)
    assert not signing.check({**signed, "passed": True})
    assert not signing.check({**signed, "started": "2026-11-25T14:00:00+00:00"})
    assert not signing.check(data)


def test_the_audit_syslog_server_is_the_one_more_way_out() -> None:
    """[firewall] syslog: UDP to that server's port only (audit anchors); none by default."""
    parsed = settings.parse({"firewall": {"syslog": ["198.18.0.9"], "syslog_port": 6514}})
    assert "\t\tip daddr { 198.18.0.9/32 } udp dport 6514 accept\n" in firewall.render(
        parsed.firewall
    )
    assert "udp dport 514 accept" not in firewall.render(settings.parse({}).firewall)
    with pytest.raises(ConfigError):
        settings.parse({"firewall": {"syslog": ["198.18.0.9"], "syslog_port": 0}})


def test_the_smtp_relay_is_a_way_out_not_a_leak() -> None:
    """[firewall] smtp: TCP to the relay's port only (alert mail); none by default. A probe
    that reaches the relay is reported as that flow; the same port elsewhere still leaks."""
    with (
        socket.create_server(("127.0.0.1", 0)) as relay,
        socket.create_server(("127.0.0.1", 0)) as other,
    ):
        port, other_port = relay.getsockname()[1], other.getsockname()[1]
        parsed = settings.parse(
            {
                "firewall": {"smtp": ["127.0.0.1"], "smtp_port": port},
                "probes": {"tcp": [f"127.0.0.1:{port}"], "timeout_s": 0.5},
            }
        )
        assert f"\t\tip daddr {{ 127.0.0.1/32 }} tcp dport {port} accept\n" in firewall.render(
            parsed.firewall
        )
        check = report.check_egress(parsed)
        assert check.status == "pass", check.details
        assert check.details[0].startswith("allowed (the SMTP relay for alert mail")
        leaky = settings.parse(
            {
                "firewall": {"smtp": ["127.0.0.1"], "smtp_port": port},
                "probes": {"tcp": [f"127.0.0.1:{other_port}"], "timeout_s": 0.5},
            }
        )
        assert report.check_egress(leaky).status == "fail"
    assert "tcp dport 25 accept" not in firewall.render(settings.parse({}).firewall)
    for bad in ({"smtp": ["relay.clinic.example"]}, {"smtp": ["10.0.0.4"], "smtp_port": 0}):
        with pytest.raises(ConfigError):
            settings.parse({"firewall": bad})

"""Isolation settings: one TOML file of its own (`/etc/appliance/isolation.toml`).

```toml
[firewall]
pbx = ["10.1.2.0/24"]          # PBX / SIP trunk addresses: SIP + RTP in and out
management = ["10.9.0.0/24"]   # admin HTTPS and SSH from here only
ntp = ["10.9.0.10"]            # internal NTP servers (UDP 123 out)
dns = ["10.9.0.11"]            # internal DNS resolvers (UDP/TCP 53 out)
syslog = ["10.9.0.12"]         # the syslog server audit anchors go to (UDP syslog_port out)
syslog_port = 514
smtp = ["10.9.0.13"]           # on-premises SMTP relay for alert mail (TCP smtp_port out)
smtp_port = 25
sip_ports = [5060, 5061]       # 5061: SIP over TLS
rtp_ports = [40000, 59999]     # first and last RTP port of all workers
https_port = 443
ssh_port = 22
log_rate = "10/minute"         # drop logging, rate limited

[probes]                       # egress attempts verify-isolation expects to fail
tcp = ["198.51.100.1:443"]
udp = ["198.51.100.1:53"]
icmp = ["198.51.100.1"]
dns_names = ["example.com"]
listening = ["udp:5060", "tcp:5060", "tcp:443"]   # the sockets expected to listen
```
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import ConfigError

DEFAULT_FILE = Path("/etc/appliance/isolation.toml")


@dataclass(frozen=True, slots=True)
class Firewall:
    pbx: tuple[str, ...] = ()
    management: tuple[str, ...] = ()
    ntp: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    syslog: tuple[str, ...] = ()  # audit anchors ([store] audit_anchor_syslog)
    syslog_port: int = 514
    smtp: tuple[str, ...] = ()  # alert mail (Alertmanager's smarthost)
    smtp_port: int = 25
    sip_ports: tuple[int, ...] = (5060, 5061)
    rtp_ports: tuple[int, int] = (40000, 59999)  # first, last
    https_port: int = 443
    ssh_port: int = 22
    log_rate: str = "10/minute"


@dataclass(frozen=True, slots=True)
class Probes:
    tcp: tuple[str, ...] = ()  # "host:port"
    udp: tuple[str, ...] = ()
    icmp: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    listening: tuple[str, ...] = ()  # "tcp:443", "udp:5060"
    timeout_s: float = 1.0


@dataclass(frozen=True, slots=True)
class IsolationSettings:
    firewall: Firewall = field(default_factory=Firewall)
    probes: Probes = field(default_factory=Probes)


def _networks(name: str, values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise ConfigError("config-invalid", f"firewall.{name} must be a list of addresses")
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(str(value), strict=False)))
        except ValueError as exc:
            raise ConfigError("config-invalid", f"firewall.{name}: bad address {value!r}") from exc
    return tuple(out)


def _port(name: str, value: Any) -> int:
    if not isinstance(value, int) or not 0 < value < 65536:
        raise ConfigError("config-invalid", f"firewall.{name}: bad port {value!r}")
    return value


def parse(data: dict[str, Any]) -> IsolationSettings:
    fw = data.get("firewall", {})
    pr = data.get("probes", {})
    rtp = [_port("rtp_ports", p) for p in fw.get("rtp_ports", [40000, 59999])]
    if len(rtp) != 2 or rtp[0] > rtp[1]:
        raise ConfigError("config-invalid", "firewall.rtp_ports must be [first, last]")
    firewall = Firewall(
        pbx=_networks("pbx", fw.get("pbx", [])),
        management=_networks("management", fw.get("management", [])),
        ntp=_networks("ntp", fw.get("ntp", [])),
        dns=_networks("dns", fw.get("dns", [])),
        syslog=_networks("syslog", fw.get("syslog", [])),
        syslog_port=_port("syslog_port", fw.get("syslog_port", 514)),
        smtp=_networks("smtp", fw.get("smtp", [])),
        smtp_port=_port("smtp_port", fw.get("smtp_port", 25)),
        sip_ports=tuple(_port("sip_ports", p) for p in fw.get("sip_ports", [5060, 5061])),
        rtp_ports=(rtp[0], rtp[1]),
        https_port=_port("https_port", fw.get("https_port", 443)),
        ssh_port=_port("ssh_port", fw.get("ssh_port", 22)),
        log_rate=str(fw.get("log_rate", "10/minute")),
    )
    probes = Probes(
        tcp=tuple(str(v) for v in pr.get("tcp", [])),
        udp=tuple(str(v) for v in pr.get("udp", [])),
        icmp=tuple(str(v) for v in pr.get("icmp", [])),
        dns_names=tuple(str(v) for v in pr.get("dns_names", [])),
        listening=tuple(str(v) for v in pr.get("listening", [])),
        timeout_s=float(pr.get("timeout_s", 1.0)),
    )
    return IsolationSettings(firewall, probes)


def load(path: Path) -> IsolationSettings:
    try:
        return parse(tomllib.loads(path.read_text("utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError("config-missing", f"isolation settings not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config-syntax", f"{path}: {exc}") from exc

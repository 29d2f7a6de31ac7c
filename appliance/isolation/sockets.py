"""Listening sockets from /proc/net (no extra tools): what the host exposes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

_LISTEN = {"tcp": "0A", "udp": "07"}  # TCP_LISTEN; UDP unconnected (TCP_CLOSE)


@dataclass(frozen=True, slots=True)
class Listener:
    proto: str  # tcp | udp
    address: str
    port: int

    @property
    def key(self) -> str:
        return f"{self.proto}:{self.port}"

    @property
    def loopback_only(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback


def _decode(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address)


def listeners(proc_net: Path = Path("/proc/net")) -> list[Listener]:
    found: set[Listener] = set()
    for proto, state in _LISTEN.items():
        for suffix in ("", "6"):
            table = proc_net / f"{proto}{suffix}"
            if not table.exists():
                continue
            for line in table.read_text("ascii").splitlines()[1:]:
                fields = line.split()
                if len(fields) < 4 or fields[3] != state:
                    continue
                addr, port = fields[1].split(":")
                found.add(Listener(proto, _decode(addr), int(port, 16)))
    return sorted(found, key=lambda item: (item.proto, item.port, item.address))


def unexpected(found: list[Listener], expected: set[str]) -> list[Listener]:
    """Sockets reachable from off the host that are not in the expected set."""
    return [item for item in found if not item.loopback_only and item.key not in expected]

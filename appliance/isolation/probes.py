"""Active egress probes: each one tries to reach a configured target and must fail.

A probe *fails the check* when there is evidence that a packet left the host: a TCP
connection (or a refusal, which is the far end answering), a UDP reply or ICMP port
unreachable, an ICMP echo reply, or a DNS answer. A local EPERM (the firewall) or a
timeout counts as blocked.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProbeResult:
    kind: str  # tcp | udp | icmp | dns
    target: str
    escaped: bool  # True: traffic left the host
    detail: str


def _host_port(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host.strip("[]"), int(port)


def _blocked_reason(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def probe_tcp(target: str, timeout_s: float) -> ProbeResult:
    host, port = _host_port(target)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return ProbeResult("tcp", target, True, "connected")
    except ConnectionRefusedError:
        return ProbeResult("tcp", target, True, "refused by the far end (packets left)")
    except TimeoutError:
        return ProbeResult("tcp", target, False, "timed out")
    except OSError as exc:
        return ProbeResult("tcp", target, False, f"blocked ({_blocked_reason(exc)})")


def probe_udp(target: str, timeout_s: float) -> ProbeResult:
    host, port = _host_port(target)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect((host, port))
            sock.send(b"\x00appliance-isolation-probe")
            sock.recv(512)
            return ProbeResult("udp", target, True, "got a reply")
        except ConnectionRefusedError:
            return ProbeResult("udp", target, True, "port unreachable from the far end")
        except TimeoutError:
            return ProbeResult("udp", target, False, "no answer")
        except OSError as exc:
            return ProbeResult("udp", target, False, f"blocked ({_blocked_reason(exc)})")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def probe_icmp(host: str, timeout_s: float) -> ProbeResult:
    """One ICMP echo request over a raw socket (needs CAP_NET_RAW: run as root)."""
    ident = os.getpid() & 0xFFFF
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    payload = b"appliance-isolation-probe"
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
            sock.settimeout(timeout_s)
            sock.sendto(packet, (host, 0))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                reply, (source, _) = sock.recvfrom(1024)
                ihl = (reply[0] & 0x0F) * 4
                kind, _, _, rid, _ = struct.unpack("!BBHHH", reply[ihl : ihl + 8])
                if source == host and kind == 0 and rid == ident:
                    return ProbeResult("icmp", host, True, "echo reply")
    except TimeoutError:
        pass
    except PermissionError as exc:
        return ProbeResult("icmp", host, False, f"blocked ({_blocked_reason(exc)})")
    except OSError as exc:
        return ProbeResult("icmp", host, False, f"blocked ({_blocked_reason(exc)})")
    return ProbeResult("icmp", host, False, "no echo reply")


def probe_dns(name: str, timeout_s: float) -> ProbeResult:
    """Resolve a public name through the system resolver; an answer means DNS leaks."""
    answer: list[str] = []
    error: list[str] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
            answer.extend(str(info[4][0]) for info in infos)
        except OSError as exc:
            error.append(type(exc).__name__)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout_s * 3)
    if answer:
        return ProbeResult("dns", name, True, f"resolved to {answer[0]}")
    return ProbeResult("dns", name, False, f"not resolved ({error[0] if error else 'timeout'})")

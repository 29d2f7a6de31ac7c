"""SIP OPTIONS health check: one request over UDP, True on a 200 answer."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time


def _options(host: str, port: int, timeout_s: float) -> bool:
    """One OPTIONS to the edge; True on 200.

    The socket is connected, never bound: under the unit's SocketBindDeny=any an explicit
    bind() (even to port 0) is refused, while connect() picks an ephemeral port itself.
    """
    wildcard = host in ("", "0.0.0.0", "::")  # noqa: S104 (a comparison, not a bind)
    target = "127.0.0.1" if wildcard else host
    family = socket.AF_INET6 if ":" in target else socket.AF_INET
    deadline = time.monotonic() + timeout_s
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect((target, port))
            local_port = sock.getsockname()[1]
            uri_host = f"[{host}]" if ":" in host else host
            request = (
                f"OPTIONS sip:{uri_host}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {uri_host}:{local_port};branch=z9hG4bK{secrets.token_hex(6)}"
                ";rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:health@{uri_host}>;tag={secrets.token_hex(4)}\r\n"
                f"To: <sip:{uri_host}:{port}>\r\n"
                f"Call-ID: {secrets.token_hex(8)}\r\n"
                "CSeq: 1 OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            sock.send(request.encode())
            reply = sock.recv(4096)
        except ConnectionRefusedError:  # nothing listens yet (ICMP port unreachable):
            time.sleep(max(0.0, deadline - time.monotonic()))  # pace callers that poll
            return False
        except OSError:
            return False
    return reply.startswith(b"SIP/2.0 200")


async def options_ping(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """True when the SIP edge answers an OPTIONS request with 200 (readiness and health)."""
    return await asyncio.to_thread(_options, host, port, timeout_s)

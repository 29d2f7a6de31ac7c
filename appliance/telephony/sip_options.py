"""SIP OPTIONS health check: one request over UDP, True on a 200 answer."""

from __future__ import annotations

import asyncio
import secrets
import socket


def _options(host: str, port: int, timeout_s: float) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.bind(("127.0.0.1" if host.startswith("127.") else "", 0))
        local_port = sock.getsockname()[1]
        tag, call_id = secrets.token_hex(4), secrets.token_hex(8)
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{local_port};branch=z9hG4bK{secrets.token_hex(6)};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:health@{host}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        try:
            sock.sendto(request.encode(), (host, port))
            reply, _ = sock.recvfrom(4096)
        except OSError:
            return False
        return reply.startswith(b"SIP/2.0 200")


async def options_ping(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """True when the SIP edge answers an OPTIONS request with 200 (health check)."""
    return await asyncio.to_thread(_options, host, port, timeout_s)

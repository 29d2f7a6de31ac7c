"""Kamailio's JSON-RPC over its datagram socket (module jsonrpcs, transport 4)."""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path


def rpc_call(
    server: Path, method: str, params: list[object], timeout_s: float = 2.0
) -> dict[str, object] | None:
    """One JSON-RPC request to Kamailio's jsonrpcs datagram socket; None on no answer."""
    client = server.with_name(f"edge-rpc-{secrets.token_hex(4)}.sock")
    request = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.bind(str(client))
            sock.sendto(json.dumps(request).encode(), str(server))
            reply = json.loads(sock.recv(65536))
        except (OSError, ValueError):
            return None
        finally:
            client.unlink(missing_ok=True)
    return reply if isinstance(reply, dict) else None

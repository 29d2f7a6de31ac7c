"""Network addresses written in settings: "host:port" with a literal or a DNS name."""

from __future__ import annotations

import ipaddress
import re

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")


def host_port(value: str) -> tuple[str, int] | None:
    """(host, port) of "host:port", "1.2.3.4:port" or "[v6]:port"; None when malformed.
    Nothing is resolved: the name is looked up when it is used."""
    host, _, port = value.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    try:
        valid = ipaddress.ip_address(host).version == 4 or bracketed
    except ValueError:
        valid = len(host) <= 253 and bool(_HOSTNAME.match(host)) and not bracketed
    if not valid or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)

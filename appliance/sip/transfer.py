"""Transfer (REFER) helpers: the Refer-To target with X-headers, the X-headers of an
incoming INVITE, and the outcome reported by the transferee's NOTIFYs. Attended
transfer (consultation, then REFER with Replaces) is in attended.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

MAX_X_HEADERS = 16  # X-headers kept from one INVITE
MAX_X_VALUE = 256  # characters kept of one X-header value
_NAME = re.compile(r"^X-[A-Za-z0-9-]{1,64}$")
_FROM_USER = re.compile(r"<?(?:sips?|tel):([^@;>\s]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TransferResult:
    """How a transfer (blind or attended) ended, from the transferee's final NOTIFY (RFC 3515)."""

    ok: bool  # the target answered (sipfrag 2xx)
    status: int | None  # final SIP status of the transferred call (None: no answer in time)
    reason: str  # "answered" | "failed" | "refused" | "timeout" | "call-ended"


def check_x_headers(headers: dict[str, str]) -> dict[str, str]:
    """`headers` if they are X- headers with printable one-line values, at most
    MAX_X_HEADERS of them and MAX_X_VALUE characters each (else ValueError)."""
    if len(headers) > MAX_X_HEADERS:
        raise ValueError(f"at most {MAX_X_HEADERS} X- headers")
    for name, value in headers.items():
        if not _NAME.match(name):
            raise ValueError(f"not an X- header name: {name!r}")
        if len(value) > MAX_X_VALUE or not value.isprintable():
            raise ValueError(f"{name}: value too long or not printable on one line")
    return dict(headers)


def refer_to(uri: str, headers: dict[str, str]) -> str:
    """`uri` with `headers` as URI headers (`?X-A=1&X-B=2`), which the transferee copies
    into its INVITE to the target (RFC 3261 19.1.5). Only X- headers are allowed."""
    for name in headers:
        if not _NAME.match(name):
            raise ValueError(f"not an X- header name: {name!r}")
    if not headers:
        return f"<{uri}>"
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in headers.items())
    return f"<{uri}?{query}>"


def caller_user(message: str) -> str:
    """The user part of the From URI of a SIP request (the caller's number; PHI: never
    log it), "" when there is none. Bounded like the X- headers."""
    head = message.split("\r\n\r\n", 1)[0]
    for line in head.split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in ("from", "f"):
            found = _FROM_USER.search(value)
            return found.group(1)[:MAX_X_VALUE] if found else ""
    return ""


def x_headers(message: str) -> dict[str, str]:
    """The X- headers of a SIP message (header section only; bounded in count and size)."""
    head = message.split("\r\n\r\n", 1)[0]
    found: dict[str, str] = {}
    for line in head.split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        name = name.strip()
        if sep and _NAME.match(name) and len(found) < MAX_X_HEADERS:
            found[name] = value.strip()[:MAX_X_VALUE]
    return found

"""Keyed hashes that stand for a caller's number wherever one is kept (never the number).

The key is derived from the audit signing key (a key the appliance already has, kept
apart from the database key, so a copy of the store and its key cannot reverse the
hashes by trying every number): HMAC-SHA256(audit key, a fixed label), so the signing
key itself is never used for anything but signing.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from appliance.store.keys import LoadedKey

_LABEL = b"appliance caller-hash v1"
UNKNOWN = "anonymous"  # withheld or unreadable numbers share one bucket


def caller_hash_key(audit_key: LoadedKey) -> bytes:
    """The caller-hash key, derived from the audit signing key (32 bytes; never log)."""
    return hmac.new(audit_key.key, _LABEL, hashlib.sha256).digest()


def caller_hash(key: bytes, remote: str) -> str:
    """HMAC-SHA256 (hex) of the caller's number: digits only from a URI's user part, so
    "sip:+1 (555) 010-0001@host" and "+15550100001" are one caller."""
    user = re.sub(r"^(?:sips?|tel):", "", remote.strip().lower()).split("@", 1)[0]
    digits = re.sub(r"\D", "", user)
    ident = digits or user or UNKNOWN
    return hmac.new(key, ident.encode("utf-8"), hashlib.sha256).hexdigest()

"""Sign an isolation report with the audit signing key (Ed25519), so a copy handed to the
security team can be checked later: `check(report_json)` with the public key in it, and
that key compared with the one `appliance audit export` publishes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance.store.keys import load_key

CREDENTIAL = "audit-signing.key"


def _canonical(data: dict[str, Any]) -> bytes:
    body = {key: value for key, value in data.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(data: dict[str, Any], key_file: Path) -> dict[str, Any]:
    """`data` plus a signature over its canonical JSON (which includes the timestamp)."""
    private = Ed25519PrivateKey.from_private_bytes(load_key(CREDENTIAL, key_file).key)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    value = private.sign(_canonical(data))
    return {
        **data,
        "signature": {"alg": "ed25519", "public_key": public.hex(), "value": value.hex()},
    }


def check(data: dict[str, Any]) -> bool:
    """True when the report carries a valid signature by the key it names."""
    sig = data.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != "ed25519":
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(sig["public_key"]))
        public.verify(bytes.fromhex(sig["value"]), _canonical(data))
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True

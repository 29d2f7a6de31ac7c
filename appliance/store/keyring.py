"""The previous database keys, kept sealed so that backups made before a rotation restore.

`appliance db rekey` adds the key it retires to `<key_file>.previous`: one file, mode
0400, never plaintext. It holds the previous keys (newest first, at most
`PREVIOUS_KEYS_KEPT`; older ones are dropped and the rotation's audit record says how
many) encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from the database key
current at the time, so it opens only with the key that opens the store (a key file or
the systemd credential that replaced it). Anyone who can read it can read the live store
already.

A key id (fingerprint) names a key in messages and audit records: the first 16 hex digits
of SHA-256 over a label and the key. It is never the key.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from appliance.errors import StoreError
from appliance.store.keys import KEY_BYTES, check_key_file_mode, write_private_file

PREVIOUS_KEYS_KEPT = 12  # one rotation a quarter: three years of backups
_MAGIC = b"appliance-db-keyring-1\n"
_NONCE_BYTES = 12
_ID_LABEL = b"appliance db key id\n"
_WRAP_INFO = b"appliance db keyring wrap v1"


def key_id(key: bytes) -> str:
    """A PHI-free, secret-free name for a 32-byte key."""
    return hashlib.sha256(_ID_LABEL + key).hexdigest()[:16]


def keyring_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".previous")


def read_previous(path: Path, sealing_key: bytes) -> list[bytes]:
    """The previous keys sealed in `path` under `sealing_key`, newest first ([] if none).

    Raises StoreError store-keyring-unreadable (damaged, or sealed under another key),
    ConfigError key-file-permissions (readable by others).
    """
    if not path.exists():
        return []
    check_key_file_mode(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError("store-keyring-unreadable", f"{path.name}: {exc.strerror}") from exc
    if not data.startswith(_MAGIC):
        raise StoreError("store-keyring-unreadable", f"{path.name} is not a keyring")
    nonce = data[len(_MAGIC) : len(_MAGIC) + _NONCE_BYTES]
    try:
        plain = _aead(sealing_key).decrypt(nonce, data[len(_MAGIC) + _NONCE_BYTES :], _MAGIC)
    except (InvalidTag, ValueError) as exc:
        raise StoreError(
            "store-keyring-unreadable", f"{path.name} does not open with the current key"
        ) from exc
    if len(plain) % KEY_BYTES:
        raise StoreError("store-keyring-unreadable", f"{path.name} is damaged")
    return [plain[i : i + KEY_BYTES] for i in range(0, len(plain), KEY_BYTES)]


def seal_previous(path: Path, sealing_key: bytes, keys: list[bytes]) -> None:
    """Write `keys` (newest first) to `path` (0400, atomic), sealed under `sealing_key`."""
    if any(len(k) != KEY_BYTES for k in keys):
        raise StoreError("store-keyring-unreadable", "a previous key must be 32 bytes")
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = _aead(sealing_key).encrypt(nonce, b"".join(keys), _MAGIC)
    write_private_file(path, _MAGIC + nonce + sealed)


def retire(previous: list[bytes], retiring: bytes) -> tuple[list[bytes], int]:
    """The keyring after `retiring` is added in front, and how many old keys it drops."""
    keys = [retiring, *(k for k in previous if k != retiring)]
    return keys[:PREVIOUS_KEYS_KEPT], max(len(keys) - PREVIOUS_KEYS_KEPT, 0)


def _aead(sealing_key: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAP_INFO)
    return AESGCM(hkdf.derive(sealing_key))

"""SQLCipher's settings on a connection, and the check that they are SQLCipher 4's."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from appliance.errors import StoreError

if TYPE_CHECKING:
    from appliance.store.db import Connection

# SQLCipher 4 defaults: anything weaker is refused at start-up.
MIN_CIPHER_MAJOR = 4
REQUIRED_SETTINGS = {
    "cipher_use_hmac": "1",
    "cipher_plaintext_header_size": "0",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
}
MIN_SETTINGS = {"kdf_iter": 256000, "cipher_page_size": 4096}


def cipher_settings(conn: Connection) -> dict[str, str]:
    """`cipher_version` plus this connection's settings (PRAGMA cipher_settings)."""
    settings = {"cipher_version": str(conn.execute("PRAGMA cipher_version").fetchone()[0])}
    for (line,) in conn.execute("PRAGMA cipher_settings").fetchall():
        match = re.match(r"PRAGMA (\w+) = (\w+);", str(line))
        if match:
            settings[match.group(1)] = match.group(2)
    return settings


def check_cipher_settings(settings: dict[str, str]) -> None:
    """Raise StoreError store-weak-cipher unless the settings match SQLCipher 4 defaults."""
    version = settings.get("cipher_version", "")
    major = re.match(r"(\d+)\.", version)
    if not major or int(major.group(1)) < MIN_CIPHER_MAJOR:
        raise StoreError("store-weak-cipher", f"SQLCipher {version or '?'} is older than 4")
    for name, wanted in REQUIRED_SETTINGS.items():
        if settings.get(name) != wanted:
            raise StoreError("store-weak-cipher", f"{name} is {settings.get(name)}, not {wanted}")
    for name, minimum in MIN_SETTINGS.items():
        value = settings.get(name, "0")
        if not value.isdigit() or int(value) < minimum:
            raise StoreError("store-weak-cipher", f"{name} is {value}, below {minimum}")

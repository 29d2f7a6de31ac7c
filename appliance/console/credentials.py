"""Checking what a person presents: argon2id passwords, TOTP codes (RFC 6238) with replay
protection, one-time recovery codes, and the random tokens of links and sessions.

Nothing here logs or raises with a secret in it. The QR code is drawn here (segno, an
inline SVG), so the secret never leaves the appliance.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

import pyotp
import segno
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from appliance.errors import ConsoleError

# RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): argon2-cffi's own
# default, pinned here so a library upgrade cannot lower it silently.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 4
PASSWORD_MIN = 15  # characters (DISA STIG application SRG: at least 15)
PASSWORD_MAX = 256
TOTP_STEP_S = 30
TOTP_DIGITS = 6
TOTP_SKEW_STEPS = 1  # a code of the step before or after is accepted (clock drift)
RECOVERY_CODES = 10
ISSUER = "Clinic voice appliance"

HASHER = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


def check_password_policy(password: str, name: str) -> None:
    """Raises ConsoleError console-weak-password (the message says why, never the text)."""
    if len(password) < PASSWORD_MIN:
        raise ConsoleError("console-weak-password", f"use at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise ConsoleError("console-weak-password", f"use at most {PASSWORD_MAX} characters")
    if name.lower() in password.lower():
        raise ConsoleError("console-weak-password", "the password may not contain the user name")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash costs the same time as a wrong one
    (no telling unknown names from wrong passwords by timing)."""
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_hex(16))


def new_totp_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends


def totp_uri(secret: str, name: str) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S).provisioning_uri(
        name=name, issuer_name=ISSUER
    )


def totp_step(now: float) -> int:
    return int(now // TOTP_STEP_S)


def match_totp(secret: str, code: str, now: float, last_step: int) -> int | None:
    """The time step `code` belongs to when it is valid now and newer than `last_step`
    (a code once accepted, or an older one, is refused: no replay); else None."""
    code = code.strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S)
    step = totp_step(now)
    for candidate in range(step - TOTP_SKEW_STEPS, step + TOTP_SKEW_STEPS + 1):
        expected = totp.at(candidate * TOTP_STEP_S)
        if candidate > last_step and hmac.compare_digest(expected, code):
            return candidate
    return None


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG (no script, no external resource)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, light="#fff", dark="#000"))


def new_recovery_codes() -> list[str]:
    """Ten codes of 50 random bits each, like `k3f9q-x7m2c`."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def looks_like_recovery_code(text: str) -> bool:
    return len(normalise_code(text)) == 10 and not text.strip().isdigit()


def normalise_code(text: str) -> str:
    return text.strip().lower().replace("-", "").replace(" ", "")


def code_hash(code: str) -> str:
    return token_hash(normalise_code(code))


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def token_hash(token: str) -> str:
    """SHA-256 hex: enough for a random 256-bit (or 50-bit, single-use) secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()

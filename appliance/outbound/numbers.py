"""Phone numbers as E.164, their area codes, and the pseudonymous keys that stand for
numbers and patients wherever one is shown or recorded (audit, plans, logs).

The keys are HMAC-SHA256 under the caller-hash key (appliance.store.pseudonyms): a number
hashes exactly as an inbound caller's number does, so an opt-out said on any call finds
the same ledger rows, and a copy of the store cannot reverse them without the audit key.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from appliance.store.pseudonyms import caller_hash

_SEPARATORS = re.compile(r"[\s().\-/]")
_NANP = re.compile(r"^\+1([2-9]\d{2})\d{7}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
SHORT_KEY = 12  # hex digits of a shown key (48 bits)


def e164(raw: str) -> str | None:
    """The number as E.164 ("+15550100001"); None when it is not a dialable number.

    Ten NANP digits (or 1 and ten) get +1; anything else must already start with +.
    """
    text = _SEPARATORS.sub("", raw.strip())
    if re.fullmatch(r"1?\d{10}", text):
        text = "+1" + text[-10:]
    if not _E164.match(text):
        return None
    if text.startswith("+1") and not _NANP.match(text):
        return None  # a +1 number must be a whole NANP number
    return text


def area_code(number: str) -> str | None:
    """The NANP area code of an E.164 number; None for other countries."""
    match = _NANP.match(number)
    return match.group(1) if match else None


def number_hash(key: bytes, number: str) -> str:
    """The keyed hash of an E.164 number (the same as an inbound caller's remote_hash)."""
    return caller_hash(key, number)


def number_hashes(key: bytes, number: str) -> tuple[str, ...]:
    """Every keyed hash an inbound caller with this E.164 number may arrive under: its
    digits with the country code (`number_hash`), and for a NANP number also its ten
    national digits (a PBX that presents "5550100001"). The do-not-call check matches any
    of them, since an opt-out said on an inbound call knows only the caller's hash."""
    hashes = [number_hash(key, number)]
    if _NANP.match(number):
        hashes.append(caller_hash(key, number[2:]))
    return tuple(hashes)


def number_key(hashed: str) -> str:
    """What a plan or an audit record shows for a number: a short form of its hash."""
    return "pn-" + hashed[:SHORT_KEY]


def patient_key(key: bytes, patient_id: str) -> str:
    """What a plan or an audit record shows for a patient (the record's id may be an MRN)."""
    digest = hmac.new(key, b"patient:" + patient_id.encode("utf-8"), hashlib.sha256)
    return "pt-" + digest.hexdigest()[:SHORT_KEY]

"""The audit hash chain and signed checkpoints: pure functions, shared by the store and
the offline verifier (`appliance audit verify --export DIR`).

Each record's hash is SHA-256 over the previous record's hash (hex) and the record's
canonical JSON (sorted keys, no spaces, UTF-8). A checkpoint is an Ed25519 signature over
the canonical JSON of {seq, hash, at, key_id}: the chain up to `seq` ends in `hash`.
An anchor is such a checkpoint exported off the store (appliance/governance/audit_anchor.py):
a chain that no longer reaches it, or reaches it with another hash, was truncated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit record: metadata only, never PHI (no names, numbers or transcript text)."""

    seq: int  # 1, 2, ... with no gaps
    at: str  # UTC, ISO 8601 with microseconds
    actor: str  # e.g. "agent", "cli", an admin user id
    actor_role: str  # "system" | "operator" | ...
    action: str  # e.g. "call.start", "store.rekey"
    object_type: str | None
    object_id: str | None
    outcome: str  # "ok" | "failed" | "denied"
    reason_code: str | None
    call_id: str | None
    component: str  # e.g. "telephony", "store", "cli"
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The hashed fields (everything but the hash itself)."""
        data = asdict(self)
        del data["hash"]
        return data


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str  # hex


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(body: dict[str, Any]) -> str:
    prev = str(body["prev_hash"])
    fields = {k: v for k, v in body.items() if k != "prev_hash"}
    return hashlib.sha256(prev.encode("ascii") + b"\n" + canonical(fields)).hexdigest()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_hex(public: Ed25519PublicKey) -> str:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def checkpoint_message(seq: int, hash_: str, at: str, kid: str) -> bytes:
    return canonical({"seq": seq, "hash": hash_, "at": at, "key_id": kid})


def sign_checkpoint(private: Ed25519PrivateKey, seq: int, hash_: str, at: str) -> Checkpoint:
    kid = key_id(private.public_key())
    signature = private.sign(checkpoint_message(seq, hash_, at, kid)).hex()
    return Checkpoint(seq, hash_, at, kid, signature)


def checkpoint_valid(public: Ed25519PublicKey, cp: Checkpoint) -> bool:
    if cp.key_id != key_id(public):
        return False
    try:
        public.verify(
            bytes.fromhex(cp.signature), checkpoint_message(cp.seq, cp.hash, cp.at, cp.key_id)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


# Verdict codes: what kind of damage was found (docs/security.md, "Verification")
CHAIN_BROKEN = "audit-chain-broken"  # a record edited, deleted, inserted or reordered
SIGNATURE_INVALID = "audit-signature-invalid"  # a checkpoint or anchor not signed by our key
TRUNCATED = "audit-truncated"  # the chain ends before a signed checkpoint or an anchor
REWRITTEN = "audit-rewritten"  # the chain reaches one but with another hash


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    records: int
    checkpoints: int
    first_bad: int | None  # the sequence number of the first bad record
    problem: str | None  # PHI-free description
    code: str | None = None  # one of the codes above when not ok
    anchors: int = 0  # distinct exported anchors checked

    def line(self) -> str:
        if self.ok:
            anchors = f", {self.anchors} exported anchors" if self.anchors else ""
            return (
                f"audit OK: {self.records} records, {self.checkpoints} signed checkpoints{anchors}"
            )
        return f"audit FAILED at record {self.first_bad} ({self.code}): {self.problem}"


def verify_chain(
    records: Iterable[AuditRecord],
    checkpoints: Iterable[Checkpoint],
    public: Ed25519PublicKey | None,
    anchors: Iterable[Checkpoint] = (),
) -> Verdict:
    """Check the chain, then every checkpoint (and off-box anchors) against it.

    Names the first bad record: an edited, inserted or reordered record breaks its own
    hash or the next record's link; a deleted one leaves a gap; a chain rebuilt after
    tampering no longer matches a signed checkpoint; a deleted tail misses an anchor.
    """
    hashes: dict[int, str] = {}
    seen: dict[str, int] = {GENESIS: 0}
    prev, expected, count = GENESIS, 1, 0
    for record in records:
        count += 1
        problem = _record_problem(record, expected, prev)
        if problem:
            first = _first_bad(record, expected, seen)
            return Verdict(False, count, 0, first, problem, CHAIN_BROKEN)
        hashes[record.seq] = record.hash
        seen[record.hash] = record.seq
        prev, expected = record.hash, expected + 1
    cps = list(checkpoints)
    for cp in cps:
        found = _checkpoint_problem(cp, hashes, public, "signed checkpoint")
        if found:
            return Verdict(False, count, len(cps), _first_after(cps, cp, hashes), *found)
    exported = set(anchors)  # one that is also a checkpoint of the store was checked above
    for anchor in sorted(exported - set(cps), key=lambda a: a.seq):
        found = _checkpoint_problem(anchor, hashes, public, "exported anchor")
        if found:
            first = _first_after(cps, anchor, hashes)
            return Verdict(False, count, len(cps), first, *found, anchors=len(exported))
    return Verdict(True, count, len(cps), None, None, anchors=len(exported))


def _first_bad(record: AuditRecord, expected: int, seen: dict[str, int]) -> int:
    """Where the damage starts: a record that links to an earlier one than its
    predecessor means the records in between were inserted."""
    if record.seq > expected:
        return expected
    linked = seen.get(record.prev_hash)
    if linked is not None and linked < expected - 1:
        return linked + 1
    return expected


def _record_problem(record: AuditRecord, expected: int, prev: str) -> str | None:
    if record.seq > expected:
        return f"record {expected} is missing (deleted; next is {record.seq})"
    if record.seq != expected:
        return f"sequence {record.seq} where {expected} was expected (reordered or inserted)"
    if record.prev_hash != prev:
        return "does not link to the previous record (inserted, reordered or deleted before it)"
    if record_hash(record.body()) != record.hash:
        return "contents do not match its hash (edited)"
    return None


def _checkpoint_problem(
    cp: Checkpoint, hashes: dict[int, str], public: Ed25519PublicKey | None, what: str
) -> tuple[str, str] | None:
    """(PHI-free problem, code) when the chain does not reach `cp` as it was signed."""
    if public is None:
        return f"no public key to check the {what}s", SIGNATURE_INVALID
    if not checkpoint_valid(public, cp):
        return f"{what} at {cp.seq} has a bad signature or an unknown key", SIGNATURE_INVALID
    if cp.seq not in hashes:
        return f"records up to the {what} at {cp.seq} are missing (tail deleted)", TRUNCATED
    if hashes[cp.seq] != cp.hash:
        return f"chain does not match the {what} at {cp.seq} (rewritten)", REWRITTEN
    return None


def _first_after(cps: list[Checkpoint], bad: Checkpoint, hashes: dict[int, str]) -> int:
    """The first record not covered by a good checkpoint before the bad one."""
    good = [c.seq for c in cps if c.seq < bad.seq and hashes.get(c.seq) == c.hash]
    if bad.seq not in hashes:
        return max(hashes, default=0) + 1
    return max(good, default=0) + 1

"""The audit log in the encrypted store: append-only, hash-chained, signed checkpoints.

`append_audit()` runs inside the caller's write transaction, so an action and its audit
record commit together or not at all. Records carry metadata only (no PHI).

Record times never go backwards: a record whose time (the wall clock, or the event's own
time) is before the last record's `at` takes that `at`. A wall clock stepped back (NTP, a
bad RTC) so leaves the order of `at` intact; a step of more than `CLOCK_BEHIND_LOG_S` is
logged (code `clock-backwards`) and counted (`clock_backwards_count()`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.errors import StoreError
from appliance.store.audit_chain import (
    GENESIS,
    AuditRecord,
    Checkpoint,
    Verdict,
    key_id,
    public_hex,
    record_hash,
    sign_checkpoint,
    verify_chain,
)
from appliance.store.db import Connection, Database
from appliance.store.keys import LoadedKey

_INSERT = (
    "INSERT INTO audit (seq, at, actor, actor_role, action, object_type, object_id, outcome,"
    " reason_code, call_id, component, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT seq, at, actor, actor_role, action, object_type, object_id, outcome, reason_code,"
    " call_id, component, prev_hash, hash FROM audit ORDER BY seq"
)
EXPORT_RECORDS = "audit.jsonl"
EXPORT_CHECKPOINTS = "checkpoints.jsonl"
EXPORT_PUBLIC_KEY = "public_key.json"
# an event time up to this far behind the last record is ordinary (several processes
# append; an event's time is taken before its write waits for the lock): not logged
CLOCK_BEHIND_LOG_S = 1.0

logger = logging.getLogger(__name__)
_clock_backwards = 0  # records whose clock was behind the last record's (this process)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What to record (metadata only: codes and ids, never names, numbers or text)."""

    actor: str
    actor_role: str
    action: str
    outcome: str = "ok"
    object_type: str | None = None
    object_id: str | None = None
    reason_code: str | None = None
    call_id: str | None = None
    component: str = "store"
    at: float | None = None  # UNIX s; now when None


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def signing_key(loaded: LoadedKey) -> Ed25519PrivateKey:
    """The Ed25519 checkpoint-signing key from a 32-byte seed (separate from the DB key)."""
    return Ed25519PrivateKey.from_private_bytes(loaded.key)


def append_audit(
    conn: Connection,
    event: AuditEvent,
    signer: Ed25519PrivateKey | None = None,
    every: int = 100,
) -> AuditRecord:
    """Append one record inside the caller's transaction; sign a checkpoint every `every`."""
    last = conn.execute("SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
    wanted = time.time() if event.at is None else event.at
    body: dict[str, Any] = {
        "seq": seq,
        "at": _not_before(wanted, str(last[2]) if last else None),
        "actor": event.actor,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "reason_code": event.reason_code,
        "call_id": event.call_id,
        "component": event.component,
        "prev_hash": prev,
    }
    record = AuditRecord(**body, hash=record_hash(body))
    conn.execute(
        _INSERT,
        tuple(asdict(record).values()),
    )
    if signer is not None and seq % max(every, 1) == 0:
        _insert_checkpoint(conn, sign_checkpoint(signer, seq, record.hash, utc_iso(time.time())))
    return record


def clock_backwards_count() -> int:
    """Records this process appended while its clock was more than `CLOCK_BEHIND_LOG_S`
    behind the last record's time."""
    return _clock_backwards


def _not_before(wanted: float, last_at: str | None) -> str:
    """`wanted` as a record time, or `last_at` when it is earlier (times never go back).

    Both are `utc_iso` strings (one fixed format), so they compare as text."""
    at = utc_iso(wanted)
    if last_at is None or at >= last_at:
        return at
    try:
        behind = datetime.fromisoformat(last_at).timestamp() - wanted
    except ValueError:
        behind = 0.0
    if behind > CLOCK_BEHIND_LOG_S:
        global _clock_backwards
        _clock_backwards += 1
        extra = {"stage": "audit", "code": "clock-backwards", "behind_s": round(behind, 3)}
        logger.warning("audit: the clock is behind the last record; its time is kept", extra=extra)
    return last_at


def append_checkpoint(conn: Connection, signer: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the current end of the chain (None when empty or already signed)."""
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None:
        return None
    done = conn.execute("SELECT 1 FROM audit_checkpoints WHERE seq = ?", (last[0],)).fetchone()
    if done:
        return None
    cp = sign_checkpoint(signer, int(last[0]), str(last[1]), utc_iso(time.time()))
    _insert_checkpoint(conn, cp)
    return cp


def _insert_checkpoint(conn: Connection, cp: Checkpoint) -> None:
    conn.execute(
        "INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)",
        (cp.seq, cp.hash, cp.at, cp.key_id, cp.signature),
    )


def read_records(conn: Connection) -> list[AuditRecord]:
    rows = conn.execute(_SELECT).fetchall()
    return [AuditRecord(*row) for row in rows]


def latest_checkpoint(conn: Connection) -> Checkpoint | None:
    row = conn.execute(
        "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return Checkpoint(*row) if row else None


def read_checkpoints(conn: Connection) -> list[Checkpoint]:
    rows = conn.execute(
        "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq"
    ).fetchall()
    return [Checkpoint(*row) for row in rows]


class AuditLog:
    """Blocking audit operations for the CLI and admin (the agent appends via repositories)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _signer(self) -> Ed25519PrivateKey | None:
        signer: Ed25519PrivateKey | None = self._db.audit_signer
        return signer

    def append(self, event: AuditEvent) -> AuditRecord:
        every = self._db.audit_checkpoint_every
        return self._db.execute(append_audit, event, self._signer(), every)

    def checkpoint(self) -> Checkpoint | None:
        signer = self._signer()
        if signer is None:
            raise StoreError("audit-no-signing-key", "no audit signing key is loaded")
        return self._db.execute(append_checkpoint, signer)

    def verify(self, anchors: list[Checkpoint] | None = None) -> Verdict:
        signer = self._signer()
        public = signer.public_key() if signer is not None else None
        records, cps = self._db.query(lambda c: (read_records(c), read_checkpoints(c)))
        return verify_chain(records, cps, public, anchors or [])

    def export(self, out: Path) -> tuple[int, int]:
        """Write records, checkpoints and the public key as JSON lines into `out`."""
        signer = self._signer()
        if signer is None:
            raise StoreError("audit-no-signing-key", "no audit signing key is loaded")
        self.checkpoint()
        records, cps = self._db.query(lambda c: (read_records(c), read_checkpoints(c)))
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_lines(out / EXPORT_RECORDS, [asdict(r) for r in records])
        _write_lines(out / EXPORT_CHECKPOINTS, [asdict(c) for c in cps])
        public = signer.public_key()
        key = {"algorithm": "Ed25519", "public_key": public_hex(public), "key_id": key_id(public)}
        (out / EXPORT_PUBLIC_KEY).write_text(json.dumps(key, indent=2) + "\n", "utf-8")
        return len(records), len(cps)


def _write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")


def verify_export(directory: Path, anchors: list[Checkpoint] | None = None) -> Verdict:
    """Verify an export offline, with the public key it carries (check its key_id
    against the one the clinic published)."""
    try:
        key = json.loads((directory / EXPORT_PUBLIC_KEY).read_text("utf-8"))
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key["public_key"]))
        records = [AuditRecord(**row) for row in _read_lines(directory / EXPORT_RECORDS)]
        cps = [Checkpoint(**row) for row in _read_lines(directory / EXPORT_CHECKPOINTS)]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError("audit-export-unreadable", f"{directory}: {type(exc).__name__}") from exc
    return verify_chain(records, cps, public, anchors or [])


def export_key_id(directory: Path) -> str:
    """The key id an export claims; an auditor compares it with the published one."""
    try:
        return str(json.loads((directory / EXPORT_PUBLIC_KEY).read_text("utf-8"))["key_id"])
    except (OSError, ValueError, KeyError) as exc:
        raise StoreError("audit-export-unreadable", f"{directory}: {type(exc).__name__}") from exc


ANCHOR_TYPE = "audit-anchor"
_CHECKPOINT_KEYS = ("seq", "hash", "at", "key_id", "signature")


def anchor_line(cp: Checkpoint, exported_at: float) -> str:
    """One anchor as a JSON line: numbers, hex and times only (never PHI)."""
    row = {"type": ANCHOR_TYPE, **asdict(cp), "exported_at": utc_iso(exported_at)}
    return json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n"


def read_anchors(path: Path) -> tuple[list[Checkpoint], int]:
    """The checkpoints in a file kept off the store (anchor lines, an export's
    checkpoints.jsonl, or syslog lines that end in an anchor's JSON) and how many other
    lines were skipped. Skipping is safe: a file only appended to keeps every anchor."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            parsed = [_anchor(line) for line in fh if line.strip()]
    except OSError as exc:
        raise StoreError("audit-anchor-unreadable", f"{path}: {exc.strerror}") from exc
    anchors = [cp for cp in parsed if cp is not None]
    return anchors, len(parsed) - len(anchors)


def _anchor(line: str) -> Checkpoint | None:
    start = line.find("{")
    try:
        row = json.loads(line[start:]) if start >= 0 else None
    except ValueError:
        return None
    values: list[Any] = [row.get(k) for k in _CHECKPOINT_KEYS] if isinstance(row, dict) else []
    if not values or type(values[0]) is not int or not all(isinstance(v, str) for v in values[1:]):
        return None
    return Checkpoint(*values)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]

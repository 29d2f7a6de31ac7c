"""`appliance db check|rekey|purge|backup|restore` and `appliance audit verify|export|anchor`.

Exit status: 0 clean, 1 a problem was found (integrity, tampering), 2 a coded error.
Nothing printed here is PHI: only codes, counts, sequence numbers and key ids.
"""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.config import Settings
from appliance.errors import StoreError
from appliance.governance.audit_anchor import (
    AnchorExporter,
    AnchorFile,
    anchor_path,
    configured_sinks,
)
from appliance.governance.retention import RetentionPolicy, purge
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import (
    AuditEvent,
    AuditLog,
    export_key_id,
    read_anchors,
    verify_export,
)
from appliance.store.audit_chain import Checkpoint, Verdict
from appliance.store.backup import backup, restore
from appliance.store.bootstrap import db_key, open_database, rekey
from appliance.store.cipher import cipher_settings
from appliance.store.db import Database
from appliance.store.keyring import key_id


def db_check(settings: Settings) -> int:
    """Cipher settings (checked at open), cipher_integrity_check and integrity_check."""
    db = open_database(settings, MIGRATIONS)
    try:
        settings_now = db.query(cipher_settings)
        problems = db.integrity_problems()
    finally:
        db.close()
    print(
        f"cipher {settings_now['cipher_version']}: "
        + ", ".join(f"{k}={v}" for k, v in sorted(settings_now.items()) if k != "cipher_version")
    )
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not problems:
        print("db OK: cipher_integrity_check and integrity_check are clean")
    return 1 if problems else 0


def db_rekey(settings: Settings) -> int:
    done = rekey(settings, MIGRATIONS)
    print("db key rotated; the store reopened and checked with the new key")
    dropped = f" ({done.dropped} oldest dropped)" if done.dropped else ""
    print(
        f"key {done.retired} retired and kept sealed with the previous keys"
        f" ({done.kept} kept{dropped}); the current key is {done.current}"
    )
    return 0


def db_purge(settings: Settings, days: int | None, clock_checked: bool = False) -> int:
    """Every data class past its retention ([retention]; `--days`: turn text only).

    Exit 1 when the wall clock looks wrong (nothing purged); `clock_checked`: the operator
    checked it (`--clock-checked`)."""
    policy = RetentionPolicy.from_settings(settings, transcript_days=days)
    db = open_database(settings, MIGRATIONS)
    try:
        report = purge(db, policy, clock_checked=clock_checked)
    finally:
        db.close()
    if report.clock_suspect is not None:
        print(f"appliance: warning {report.line()}", file=sys.stderr)
        print("check the clock; then `appliance db purge --clock-checked`", file=sys.stderr)
        return 1
    print(
        f"purged the text of {report.counts['turn-text']} turns older than "
        f"{policy.transcript_days} days"
    )
    print(report.line() + ("; vacuumed" if report.vacuumed else "; vacuum deferred (busy)"))
    return 0


def db_backup_restore(settings: Settings, command: str, path: Path) -> int:
    if command == "backup":
        counts = backup(settings, path, MIGRATIONS)
        print(f"backup written to {path} under key {key_id(db_key(settings).key)}: {_rows(counts)}")
        return 0
    done = restore(settings, path, MIGRATIONS)
    print(f"restored from {path}: {_rows(done.counts)}; the old store is kept as *.pre-restore")
    if done.previous:
        print(
            f"opened with the previous key {done.opened_by};"
            f" re-encrypted with the current key {done.current}"
        )
    else:
        print(f"opened with the current key {done.opened_by}")
    return 0


def _rows(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def audit_verify(settings: Settings, export_dir: Path | None, anchor_file: Path | None) -> int:
    """The live log (or an export) against its checkpoints and the anchors: those of
    `--anchor FILE`, and for the live log those in the configured anchor file too."""
    anchors: list[Checkpoint] = _anchors_from(anchor_file) if anchor_file else []
    if anchor_file and not anchors:
        raise StoreError("audit-anchor-unreadable", f"{anchor_file}: no anchor in it")
    if export_dir is not None:
        verdict = verify_export(export_dir, anchors)
        print(f"signing key id {export_key_id(export_dir)} (compare with the published id)")
        return _report(verdict)
    anchors += _configured_anchors(settings)
    db = open_database(settings, MIGRATIONS)
    try:
        verdict = AuditLog(db).verify(anchors)
    finally:
        db.close()
    return _report(verdict)


def _configured_anchors(settings: Settings) -> list[Checkpoint]:
    path = anchor_path(settings)
    anchors = _anchors_from(path) if path.exists() else []
    if not anchors:
        print(f"audit: no anchor in {path} yet: a deleted tail cannot be found", file=sys.stderr)
    _note_rewritable(settings)
    return anchors


def _anchors_from(path: Path) -> list[Checkpoint]:
    """The anchors in `path`, saying what was found (counts, sequence numbers, times)."""
    anchors, skipped = read_anchors(path)
    if anchors:
        last = max(anchors, key=lambda a: a.seq)
        print(f"anchors: {len(anchors)} in {path}, the latest at record {last.seq} ({last.at})")
    if skipped:
        print(f"anchors: {skipped} lines in {path} are not anchors (skipped)", file=sys.stderr)
    return anchors


def _note_rewritable(settings: Settings) -> None:
    """A configured anchor file (a host's) should be append-only; var/audit/ is not."""
    path = anchor_path(settings)
    if settings.store.audit_anchor_file and AnchorFile(path).append_only() is False:
        print(f"anchors: {path} is not append-only (chattr +a; docs/security.md)")


def audit_export(settings: Settings, out: Path) -> int:
    db = open_database(settings, MIGRATIONS)
    try:
        log = AuditLog(db)
        log.append(
            AuditEvent(actor="cli", actor_role="operator", action="audit.export", component="audit")
        )
        records, checkpoints = log.export(out)
        print(f"exported {records} audit records and {checkpoints} signed checkpoints to {out}")
        print(f"signing key id {export_key_id(out)}")
        try:
            _anchor(settings, db)
        except StoreError as exc:  # the export itself is written
            print(f"appliance: warning {exc.code}: {exc.message}", file=sys.stderr)
    finally:
        db.close()
    return 0


def audit_anchor(settings: Settings) -> int:
    """Sign the end of the chain and export it to the configured anchor sinks."""
    db = open_database(settings, MIGRATIONS)
    try:
        return _anchor(settings, db)
    finally:
        db.close()


def _anchor(settings: Settings, db: Database) -> int:
    """Anchor the end of the chain; StoreError with a sink's code when one failed."""
    sinks = configured_sinks(settings)
    cp = AnchorExporter(db, sinks, every_s=0.0).anchor_now()
    if cp is None:
        print("audit log is empty: nothing to anchor")
        return 0
    print(f"anchored record {cp.seq} (chain hash {cp.hash[:16]}...) to")
    for sink in sinks:
        print(f"  {sink.name}")
    _note_rewritable(settings)
    return 0


def _report(verdict: Verdict) -> int:
    print(verdict.line(), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1

"""`appliance db backup DEST` and `appliance db restore SRC`.

A backup is a SQLCipher copy made encrypted-to-encrypted with the database key current
at backup time; it is checked (cipher and integrity checks, audit chain, row counts)
before it is renamed into place. A restore checks a copy of the backup the same way
before swapping it in; the replaced store is kept as `<db_file>.pre-restore`. Run a
restore with the appliance stopped.

A backup made before `appliance db rekey` is under a previous key: restore tries the
current key, then the previous ones (the sealed keyring, newest first), re-encrypts a
copy that a previous key opened with the current key, and says which key opened it (by
key id, never the key).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Settings
from appliance.errors import StoreError
from appliance.store.audit import AuditLog, signing_key
from appliance.store.bootstrap import (
    audit_key,
    db_key,
    open_database,
    previous_keys,
    store_event,
)
from appliance.store.db import Connection, Database
from appliance.store.keyring import key_id
from appliance.store.keys import LoadedKey, fsync_dir
from appliance.store.migrations import Migration

_SIDECARS = ("", "-wal", "-shm")


@dataclass(frozen=True, slots=True)
class Restored:
    counts: dict[str, int]  # rows per table
    opened_by: str  # the id of the key that opened the backup
    previous: bool  # a previous key (the copy was re-encrypted with the current key)
    current: str  # the id of the current key


def table_counts(conn: Connection) -> dict[str, int]:
    names = [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    # names come from the schema itself, quoted as identifiers
    return {
        name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608
        for name in sorted(names)
    }


def backup(settings: Settings, dest: Path, migrations: Sequence[Migration]) -> dict[str, int]:
    """Write a checked, encrypted backup to `dest` (which must not exist); row counts."""
    if dest.exists():
        raise StoreError("store-backup-exists", f"{dest} exists: choose a new name")
    partial = dest.with_name(f".{dest.name}.partial")
    _remove(partial)
    key = db_key(settings)
    db = open_database(settings, migrations)
    try:
        AuditLog(db).append(store_event("store.backup", None, key_id(key.key)))
        _create_private(partial)
        db.export_to(partial, key.hex)
        counts = db.query(table_counts)
        signer = db.audit_signer
    finally:
        db.close()
    copied = check_copy(partial, key.hex, signer, migrations)
    if copied != counts:
        _remove(partial)
        raise StoreError("store-backup-failed", "the backup's row counts differ from the store's")
    os.replace(partial, dest)
    fsync_dir(dest.parent)
    return counts


def restore(settings: Settings, src: Path, migrations: Sequence[Migration]) -> Restored:
    """Check a backup and swap it in for the store (under the current key).

    Raises StoreError store-bad-key when no known key opens it, store-copy-* when a check
    fails; the live store is then untouched."""
    if not src.is_file():
        raise StoreError("store-restore-missing", f"{src} is not a file")
    live = settings.path(settings.store.db_file)
    staged = live.with_name(f".{live.name}.restore")
    _remove(staged)
    key = db_key(settings)
    shutil.copyfile(src, staged)
    staged.chmod(0o600)
    signer = signing_key(audit_key(settings))
    try:
        opened_by, previous = _under_current_key(settings, src.name, staged, key, migrations)
        counts = check_copy(staged, key.hex, signer, migrations)
    except BaseException:
        _remove(staged)
        raise
    for suffix in _SIDECARS:
        current = live.with_name(live.name + suffix)
        if current.exists():
            os.replace(current, live.with_name(f"{live.name}.pre-restore{suffix}"))
    os.replace(staged, live)
    fsync_dir(live.parent)
    db = open_database(settings, migrations)
    reason = "previous-key" if previous else "current-key"
    try:
        AuditLog(db).append(store_event("store.restore", reason, opened_by))
    finally:
        db.close()
    return Restored(counts, opened_by, previous, key_id(key.key))


def _under_current_key(
    settings: Settings, name: str, copy: Path, current: LoadedKey, migrations: Sequence[Migration]
) -> tuple[str, bool]:
    """Open `copy` with the current key, else a previous one and re-encrypt it with the
    current key; the id of the key that opened it, and whether it was a previous one."""
    if _opens(copy, current.key, None, migrations):
        return key_id(current.key), False
    previous = previous_keys(settings, current)
    for old in previous:
        if _opens(copy, old, current.hex, migrations):
            return key_id(old), True
    raise StoreError(
        "store-bad-key",
        f"{name}: neither the current key nor the {len(previous)} previous keys open it",
    )


def _opens(path: Path, key: bytes, rekey_to: str | None, migrations: Sequence[Migration]) -> bool:
    """Whether `key` opens `path`; re-encrypt it with `rekey_to` when it does."""
    try:
        db = Database.open(path, key.hex(), migrations)
    except StoreError as exc:
        if exc.code == "store-bad-key":
            return False
        raise
    try:
        if rekey_to is not None:
            db.rekey(rekey_to)
    finally:
        db.close()
    return True


def check_copy(
    path: Path, key_hex: str, signer: object, migrations: Sequence[Migration]
) -> dict[str, int]:
    """Open a copy with the key; integrity checks and the audit chain must pass."""
    copy = Database.open(path, key_hex, migrations)
    try:
        copy.audit_signer = signer
        problems = copy.integrity_problems()
        verdict = AuditLog(copy).verify()
        counts = copy.query(table_counts)
    finally:
        copy.close()
    if problems:
        raise StoreError("store-copy-damaged", f"{path.name}: {problems[0]}")
    if not verdict.ok:
        raise StoreError("store-copy-audit-failed", f"{path.name}: {verdict.line()}")
    return counts


def _create_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _remove(path: Path) -> None:
    for suffix in _SIDECARS:
        path.with_name(path.name + suffix).unlink(missing_ok=True)

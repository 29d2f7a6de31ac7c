"""Open the store with its keys, and rotate the database key safely.

The database key and the audit signing key are separate: systemd credentials `db.key`
and `audit-signing.key`, or the key files named in `[store]`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from appliance.config import Settings
from appliance.errors import StoreError
from appliance.store.audit import AuditEvent, AuditLog, signing_key
from appliance.store.db import Database
from appliance.store.keys import (
    LoadedKey,
    fsync_dir,
    generate_key,
    load_key,
    write_key_file,
)
from appliance.store.migrations import Migration

DB_CREDENTIAL = "db.key"
AUDIT_CREDENTIAL = "audit-signing.key"
LLM_CREDENTIAL = "llm.key"  # the LLM server's API key (agent workers, admin, LLM unit)


def db_key(settings: Settings, *, create: bool = False) -> LoadedKey:
    return load_key(DB_CREDENTIAL, settings.path(settings.store.key_file), create=create)


def audit_key(settings: Settings, *, create: bool = False) -> LoadedKey:
    return load_key(AUDIT_CREDENTIAL, settings.path(settings.store.audit_key_file), create=create)


def open_database(
    settings: Settings, migrations: Sequence[Migration], *, create: bool = False
) -> Database:
    """Open the store (verifying cipher settings) with the audit signer attached.

    `migrations`: the application's whole ordered list (appliance.services.app_db.MIGRATIONS).

    `create` makes missing dev key files (0400). If a key rotation was interrupted after
    the database was re-encrypted, the pending key (`<key_file>.new`) opens it and the
    rotation is completed.
    """
    loaded = db_key(settings, create=create)
    signer = signing_key(audit_key(settings, create=create))
    path = settings.path(settings.store.db_file)
    try:
        db = Database.open(path, loaded.hex, migrations)
        recovered = False
    except StoreError as exc:
        pending = _pending(loaded.path)
        if exc.code != "store-bad-key" or loaded.source != "file" or not pending.exists():
            raise
        db = Database.open(path, load_key(DB_CREDENTIAL, pending).hex, migrations)
        _swap_in(loaded, pending)
        recovered = True
    db.audit_signer = signer
    db.audit_checkpoint_every = settings.store.audit_checkpoint_every
    db.key_candidates = lambda: key_candidates(settings)
    if recovered:
        AuditLog(db).append(_event("store.rekey", "recovered-interrupted-rotation"))
    return db


def key_candidates(settings: Settings) -> list[str]:
    """Keys that may open the store after another process rotated it: the installed key,
    then the pending one (`appliance db rekey` re-encrypts before it swaps the files)."""
    loaded = db_key(settings)
    keys = [loaded.hex]
    pending = _pending(loaded.path)
    if loaded.source == "file" and pending.exists():
        keys.append(load_key(DB_CREDENTIAL, pending).hex)
    return keys


def rekey(settings: Settings, migrations: Sequence[Migration]) -> None:
    """Rotate the database key: checkpoint, PRAGMA rekey, verify, then replace the key file.

    The new key is made durable (`<key_file>.new`, 0400) before the database changes; the
    old key is kept as `<key_file>.old` (0400) until the database has been reopened and
    checked with the installed new key, then removed. Raises StoreError store-rekey-*.
    """
    loaded = db_key(settings)
    if loaded.source != "file":
        raise StoreError(
            "store-rekey-credential",
            "the key is a systemd credential: seal a new one with systemd-creds instead",
        )
    pending = _pending(loaded.path)
    if pending.exists():
        raise StoreError("store-rekey-pending", f"{pending.name} exists: open the store first")
    new_key = generate_key()
    db = open_database(settings, migrations)
    try:
        write_key_file(pending, new_key)
        db.rekey(new_key.hex())
        AuditLog(db).append(_event("store.rekey", None))
    finally:
        db.close()
    _check(settings, new_key.hex(), migrations)
    _swap_in(loaded, pending)
    db = open_database(settings, migrations)
    try:
        problems = db.integrity_problems()
    finally:
        db.close()
    if problems:
        raise StoreError("store-rekey-failed", f"check after rotation: {problems[0]}")
    _old(loaded.path).unlink(missing_ok=True)


def _check(settings: Settings, key_hex: str, migrations: Sequence[Migration]) -> None:
    db = Database.open(settings.path(settings.store.db_file), key_hex, migrations)
    try:
        problems = db.integrity_problems()
    finally:
        db.close()
    if problems:
        raise StoreError("store-rekey-failed", f"the re-encrypted store is damaged: {problems[0]}")


def _swap_in(current: LoadedKey, pending: Path) -> None:
    """Keep the current key as .old (0400), then atomically move the pending key in."""
    write_key_file(_old(current.path), current.key)
    os.replace(pending, current.path)
    fsync_dir(current.path.parent)


def _pending(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".new")


def _old(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".old")


def _event(action: str, reason: str | None) -> AuditEvent:
    return AuditEvent(
        actor="cli",
        actor_role="operator",
        action=action,
        object_type="database",
        reason_code=reason,
        component="store",
    )


def llm_api_key(settings: Settings) -> str:
    """The LLM server's API key: systemd credential `llm.key`, else the key file (dev: made)."""
    return load_key(LLM_CREDENTIAL, settings.path(settings.llm.api_key_file), create=True).hex

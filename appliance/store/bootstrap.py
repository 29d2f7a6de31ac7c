"""Open the store with its keys, and rotate the database key safely.

The database key and the audit signing key are separate: systemd credentials `db.key`
and `audit-signing.key`, or the key files named in `[store]`. A rotation keeps the key
it retires sealed in `<key_file>.previous` (appliance/store/keyring.py) so that older
backups still restore.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Settings
from appliance.errors import ConfigError, StoreError
from appliance.store.audit import AuditEvent, AuditLog, signing_key
from appliance.store.db import Database
from appliance.store.keyring import key_id, keyring_path, read_previous, retire, seal_previous
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


@dataclass(frozen=True, slots=True)
class Rotation:
    """What `rekey` did, by key id (never a key)."""

    retired: str
    current: str
    kept: int  # previous keys now in the keyring, the retired one included
    dropped: int  # older keys dropped past PREVIOUS_KEYS_KEPT


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
        _drop_old_if_sealed(loaded)
        recovered = True
    db.audit_signer = signer
    db.audit_checkpoint_every = settings.store.audit_checkpoint_every
    db.key_candidates = lambda: key_candidates(settings)
    if recovered:
        AuditLog(db).append(store_event("store.rekey", "recovered-interrupted-rotation"))
    return db


def key_candidates(settings: Settings) -> list[str]:
    """Keys that may open the store after another process rotated it: the installed key,
    then the pending one (`appliance db rekey` re-encrypts before it swaps the files).

    The pending key is read before the installed one: the rotation moves `.new` onto the
    key file, so reading in the other order could see the old installed key and then no
    pending file, and miss the new key altogether."""
    pending = _pending(db_key(settings).path)
    pending_hex = _read_if_present(pending)
    loaded = db_key(settings)
    keys = [loaded.hex]
    if loaded.source == "file" and pending_hex is not None and pending_hex != loaded.hex:
        keys.append(pending_hex)
    return keys


def previous_keys(settings: Settings, current: LoadedKey) -> list[bytes]:
    """The keys earlier rotations retired (newest first), unsealed with the current key.

    Raises StoreError store-keyring-unreadable."""
    return read_previous(keyring_path(settings.path(settings.store.key_file)), current.key)


def rekey(settings: Settings, migrations: Sequence[Migration]) -> Rotation:
    """Rotate the database key: checkpoint, PRAGMA rekey, verify, then replace the key file.

    The new key, and the keyring with the retiring key added and sealed under the new
    key, are made durable (`<key_file>.new`, `<key_file>.previous.new`, 0400) before the
    database changes; the old key is kept as `<key_file>.old` (0400) until the database
    has been reopened and checked with the installed new key, then removed (it stays in
    the sealed keyring). Raises StoreError store-rekey-*, store-keyring-unreadable.
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
    kept, dropped = retire(previous_keys(settings, loaded), loaded.key)
    new_key = generate_key()
    rotation = Rotation(key_id(loaded.key), key_id(new_key), len(kept), dropped)
    db = open_database(settings, migrations)
    try:
        write_key_file(pending, new_key)
        seal_previous(_pending(keyring_path(loaded.path)), new_key, kept)
        db.rekey(new_key.hex())
        reason = f"kept-{rotation.kept}-previous" + (f"-dropped-{dropped}" if dropped else "")
        object_id = f"{rotation.retired}->{rotation.current}"
        AuditLog(db).append(store_event("store.rekey", reason, object_id))
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
    return rotation


def _check(settings: Settings, key_hex: str, migrations: Sequence[Migration]) -> None:
    db = Database.open(settings.path(settings.store.db_file), key_hex, migrations)
    try:
        problems = db.integrity_problems()
    finally:
        db.close()
    if problems:
        raise StoreError("store-rekey-failed", f"the re-encrypted store is damaged: {problems[0]}")


def _swap_in(current: LoadedKey, pending: Path) -> None:
    """Keep the current key as .old (0400), move the pending keyring (sealed under the
    pending key) in, then atomically the pending key: a crash in between leaves the
    pending key, which completes the swap at the next open."""
    write_key_file(_old(current.path), current.key)
    ring = keyring_path(current.path)
    if _pending(ring).exists():
        os.replace(_pending(ring), ring)
    os.replace(pending, current.path)
    fsync_dir(current.path.parent)


def _drop_old_if_sealed(retired: LoadedKey) -> None:
    """After a recovered rotation: remove `.old` once the sealed keyring holds that key."""
    try:
        installed = load_key(DB_CREDENTIAL, retired.path)
        sealed = read_previous(keyring_path(retired.path), installed.key)
    except (StoreError, ConfigError):
        return
    if retired.key in sealed:
        _old(retired.path).unlink(missing_ok=True)


def _read_if_present(key_file: Path) -> str | None:
    """The key in `key_file`, or None when there is none (a swap may just have moved it)."""
    try:
        return load_key(DB_CREDENTIAL, key_file).hex if key_file.exists() else None
    except ConfigError:
        return None


def _pending(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".new")


def _old(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".old")


def store_event(action: str, reason: str | None, object_id: str | None = None) -> AuditEvent:
    """An operator's action on the database (rekey, backup, restore) as an audit event."""
    return AuditEvent(
        actor="cli",
        actor_role="operator",
        action=action,
        object_type="database",
        object_id=object_id,
        reason_code=reason,
        component="store",
    )


def llm_api_key(settings: Settings) -> str:
    """The LLM server's API key: systemd credential `llm.key`, else the key file (dev: made)."""
    return load_key(LLM_CREDENTIAL, settings.path(settings.llm.api_key_file), create=True).hex

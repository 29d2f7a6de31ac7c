"""SQLCipher connection with a raw 256-bit key, WAL, full sync and numbered migrations.

One connection, used under a lock: from the store's own worker thread for async callers,
from the caller's thread for the CLI and admin reads, so the asyncio loop never blocks on
disk. Every unit of work runs in its own transaction: a failure rolls back that unit and
nothing already committed is lost. Error messages never carry SQL parameter values (they
may be PHI): only the SQLite error class and code name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import sqlcipher3

from appliance.errors import StoreError
from appliance.store.cipher import check_cipher_settings, cipher_settings
from appliance.store.migrations import (
    Migration,
    check_sequence,
    next_migration,
    split_statements,
)

T = TypeVar("T")
P = ParamSpec("P")

_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
_PLAINTEXT_HEADER = b"SQLite format 3\x00"
_FILE_MODE = 0o600
_BUSY_TIMEOUT_MS = 5000


class Cursor(Protocol):
    """The part of a DB-API cursor the repositories use (sqlcipher3 ships no stubs)."""

    @property
    def lastrowid(self) -> int | None: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a sqlcipher3 connection the repositories use."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...

    def close(self) -> None: ...


class Database:
    """The encrypted store's one connection. Use `open()`, then `run()` / `execute()`."""

    def __init__(self, conn: Connection, path: Path) -> None:
        self._conn: Connection | None = conn
        self._closed = False  # by close(); a failed reopen leaves it False (retried)
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self.path = path
        # signs audit checkpoints when set (appliance.store.audit); the chain works without
        self.audit_signer: Any = None
        self.audit_checkpoint_every = 100  # records between signed checkpoints
        # keys to reopen with when another process rotated the key (`appliance db rekey`)
        self.key_candidates: Callable[[], list[str]] | None = None

    @classmethod
    def open(cls, path: Path, key_hex: str, migrations: Sequence[Migration]) -> Database:
        """Open (or create) the store at `path` with a raw 256-bit key, and migrate it.

        `migrations`: the application's whole ordered list (appliance.services.app_db.MIGRATIONS).
        Raises StoreError: store-bad-key-format, store-migration-order, store-not-encrypted,
        store-bad-key, store-open-failed, store-schema-newer, store-migration-failed.
        """
        if not _HEX_KEY.match(key_hex):
            raise StoreError("store-bad-key-format", "the key must be 64 hex digits (256 bits)")
        check_sequence(migrations)
        _prepare_files(path)
        conn = _connect(path, key_hex)
        db = cls(conn, path)
        try:
            db.migrate(migrations)
        except BaseException:
            db.close()
            raise
        return db

    @property
    def schema_version(self) -> int:
        return int(self.query(lambda conn: conn.execute("PRAGMA user_version").fetchone()[0]))

    def migrate(self, migrations: Sequence[Migration]) -> None:
        """Apply the migrations this file lacks, each in its own transaction (idempotent)."""
        check_sequence(migrations)
        while True:
            if not self.execute(_apply_next_migration, migrations):
                return

    def execute(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(conn, *args)` in one write transaction, under the lock (blocking)."""
        return self._transaction(("BEGIN IMMEDIATE", "store-write-failed"), fn, *args, **kwargs)

    def query(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(conn, *args)` in one read transaction (a consistent snapshot), blocking."""
        return self._transaction(("BEGIN", "store-read-failed"), fn, *args, **kwargs)

    async def run(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `execute()`, on the store's own worker thread.

        The store has a dedicated thread rather than asyncio's default pool, so that
        queued writes never occupy the pool's threads that STT and TTS need. If the
        awaiting task is cancelled, the queued write still runs and commits (or rolls back) whole.
        """
        return await self._submit(lambda: self.execute(fn, *args, **kwargs))

    async def run_query(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `query()`, on the store's own worker thread."""
        return await self._submit(lambda: self.query(fn, *args, **kwargs))

    async def _submit(self, job: Callable[[], T]) -> T:
        try:
            future = self._executor.submit(job)
        except RuntimeError as exc:  # the executor was shut down by close()
            raise StoreError("store-closed", "the store is closed") from exc
        # shielded: cancelling the caller must not drop a write that is already queued
        return await asyncio.shield(asyncio.wrap_future(future))

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (e.g. before a backup)."""
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlcipher3.Error as exc:
                raise StoreError("store-checkpoint-failed", _describe(exc)) from exc

    def vacuum(self) -> None:
        """Rebuild the file without the pages a purge freed (temp_store=MEMORY: no
        plaintext temp file), then checkpoint. Raises StoreError store-vacuum-failed."""
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute("VACUUM")
            except sqlcipher3.Error as exc:
                raise StoreError("store-vacuum-failed", _describe(exc)) from exc
        self.checkpoint()

    def integrity_problems(self) -> list[str]:
        """PRAGMA cipher_integrity_check (page HMACs) and integrity_check; [] when clean."""
        with self._lock:
            conn = self._require_open()
            try:
                cipher = [str(r[0]) for r in conn.execute("PRAGMA cipher_integrity_check")]
                plain = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
            except sqlcipher3.Error as exc:
                return [f"integrity check failed: {_describe(exc)}"]
        return cipher + [p for p in plain if p != "ok"]

    def rekey(self, new_key_hex: str) -> None:
        """Re-encrypt every page with a new raw key (after a WAL checkpoint).

        Raises StoreError store-bad-key-format or store-rekey-failed.
        """
        if not _HEX_KEY.match(new_key_hex):
            raise StoreError("store-bad-key-format", "the key must be 64 hex digits (256 bits)")
        self.checkpoint()
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute(f"PRAGMA rekey = \"x'{new_key_hex}'\"")  # validated: hex only
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlcipher3.Error as exc:
                raise StoreError("store-rekey-failed", _describe(exc)) from exc

    def export_to(self, dest: Path, key_hex: str) -> None:
        """Copy the whole store into the new, empty file `dest`, encrypted with `key_hex`.

        Encrypted to encrypted (ATTACH ... KEY + sqlcipher_export): no plaintext page
        ever reaches disk. Raises StoreError store-backup-failed.
        """
        if not _HEX_KEY.match(key_hex):
            raise StoreError("store-bad-key-format", "the key must be 64 hex digits (256 bits)")
        self.checkpoint()
        with self._lock:
            conn = self._require_open()
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                conn.execute(f"ATTACH DATABASE ? AS backup KEY \"x'{key_hex}'\"", (str(dest),))
                try:
                    conn.execute("SELECT sqlcipher_export('backup')").fetchall()
                    conn.execute(f"PRAGMA backup.user_version = {version}")
                finally:
                    conn.execute("DETACH DATABASE backup")
            except sqlcipher3.Error as exc:
                raise StoreError("store-backup-failed", _describe(exc)) from exc

    def close(self) -> None:
        """Finish queued writes, then close the connection.

        The last connection to close checkpoints the WAL into the file and removes it.
        """
        self._executor.shutdown(wait=True)
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _transaction(
        self,
        kind: tuple[str, str],
        fn: Callable[Concatenate[Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        begin, error_code = kind
        with self._lock:
            for attempt in (1, 2):
                conn = self._require_open()
                try:
                    conn.execute(begin)
                    result = fn(conn, *args, **kwargs)
                    conn.execute("COMMIT")
                except sqlcipher3.Error as exc:
                    _rollback(conn)
                    if attempt == 1 and _key_changed(exc) and self.key_candidates is not None:
                        self._reopen(self.key_candidates())  # then run the transaction again
                        continue
                    raise StoreError(error_code, _describe(exc)) from exc
                except BaseException:
                    _rollback(conn)
                    raise
                return result
            raise AssertionError("unreachable")

    def _reopen(self, keys: list[str]) -> None:
        """Reconnect with the first of `keys` that opens the store (the lock is held)."""
        if self._conn is not None:
            with contextlib.suppress(sqlcipher3.Error):
                self._conn.close()
            self._conn = None
        for key_hex in keys:
            try:
                self._conn = _connect(self.path, key_hex)
                return
            except StoreError as exc:
                if exc.code != "store-bad-key":
                    raise
        raise StoreError("store-bad-key", "the key changed and no known key opens the store")

    def _require_open(self) -> Connection:
        if self._conn is None and not self._closed and self.key_candidates is not None:
            self._reopen(self.key_candidates())  # an earlier reopen found no key: try again
        if self._conn is None:
            raise StoreError("store-closed", "the store is closed")
        return self._conn


def _prepare_files(path: Path) -> None:
    """Create the DB file 0600 before SQLite does; SQLite gives -wal/-shm the same mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        try:
            header = os.read(fd, len(_PLAINTEXT_HEADER))
        finally:
            os.close(fd)
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
            sibling = path.with_name(name)
            if sibling.exists() and sibling.stat().st_mode & 0o777 != _FILE_MODE:
                sibling.chmod(_FILE_MODE)
    except OSError as exc:
        raise StoreError("store-open-failed", f"cannot open {path.name}: {exc.strerror}") from exc
    if header == _PLAINTEXT_HEADER:
        raise StoreError("store-not-encrypted", f"{path.name} is a plaintext SQLite file")


def _connect(path: Path, key_hex: str) -> Connection:
    conn: Connection = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        _require_sqlcipher(conn)
        conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")  # validated: 64 hex digits only
        _check_key(conn)
        check_cipher_settings(cipher_settings(conn))
        _configure(conn)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlcipher3.Error):
            raise StoreError("store-open-failed", f"{path.name}: {_describe(exc)}") from exc
        raise
    return conn


def _require_sqlcipher(conn: Connection) -> None:
    row = conn.execute("PRAGMA cipher_version").fetchone()
    if not row or not row[0]:
        raise StoreError("store-not-encrypted", "SQLCipher is not available: refusing to run")


def _check_key(conn: Connection) -> None:
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        raise StoreError("store-bad-key", "wrong key, or not an appliance database") from exc


def _configure(conn: Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    mode = _enable_wal(conn)
    if str(mode).lower() != "wal":
        raise StoreError("store-open-failed", f"cannot enable WAL (journal mode {mode})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA secure_delete = ON")  # purged text is overwritten, not just unlinked
    conn.execute("PRAGMA foreign_keys = ON")


def _enable_wal(conn: Connection) -> str:
    """Switch to WAL. Two processes opening a new store at once (agent and admin units)
    contend for the lock this needs, and SQLite answers "database is locked" at once
    instead of calling the busy handler: retry for up to the busy timeout."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlcipher3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _apply_next_migration(conn: Connection, migrations: Sequence[Migration]) -> bool:
    """Apply one pending migration inside the caller's transaction; False when current."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    migration = next_migration(version, migrations)
    if migration is None:
        return False
    try:
        for statement in split_statements(migration.sql):
            conn.execute(statement)
    except sqlcipher3.Error as exc:
        number = migration.number
        raise StoreError("store-migration-failed", f"migration {number}: {_describe(exc)}") from exc
    conn.execute(f"PRAGMA user_version = {migration.number}")
    return True


def _rollback(conn: Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlcipher3.Error):
            conn.execute("ROLLBACK")


def _key_changed(exc: sqlcipher3.Error) -> bool:
    """The pages no longer decrypt with this connection's key: another process rekeyed."""
    return getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB" or (
        isinstance(exc, sqlcipher3.DatabaseError) and "not a database" in str(exc)
    )


def _describe(exc: BaseException) -> str:
    """The error class and SQLite code name: never the statement's parameter values."""
    code = getattr(exc, "sqlite_errorname", None)
    return f"{type(exc).__name__} {code}" if code else type(exc).__name__

"""SQLCipher connection with a raw 256-bit key, WAL, full sync and numbered migrations.

One connection, used from worker threads under a lock: the asyncio loop never blocks on
disk. Error messages never carry SQL parameter values (they may be PHI).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlcipher3

from appliance.errors import StoreError
from appliance.store.migrations import MIGRATIONS

T = TypeVar("T")
Connection = sqlcipher3.Connection
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class Database:
    def __init__(self, conn: Connection, path: Path) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, path: Path, key_hex: str) -> Database:
        if not _HEX_KEY.match(key_hex):
            raise StoreError("store-bad-key-format", "the key must be 64 hex digits (256 bits)")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        old_umask = os.umask(0o077)  # the DB, -wal and -shm files are created 0600
        try:
            conn = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
            _check_key(conn)
            _configure(conn)
        except sqlcipher3.DatabaseError as exc:
            raise StoreError("store-open-failed", f"cannot open {path.name}: {exc}") from exc
        finally:
            os.umask(old_umask)
        db = cls(conn, path)
        db.migrate()
        return db

    def migrate(self) -> None:
        with self._lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(script):
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {number}")
                    self._conn.execute("COMMIT")
                except sqlcipher3.DatabaseError as exc:
                    self._conn.execute("ROLLBACK")
                    raise StoreError("store-migration-failed", f"migration {number}") from exc

    def call(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in one transaction, under the lock (blocking)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                result = fn(self._conn)
                self._conn.execute("COMMIT")
                return result
            except sqlcipher3.DatabaseError as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError("store-write-failed", type(exc).__name__) from exc
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Like call(), on a worker thread."""
        return await asyncio.to_thread(self.call, fn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _check_key(conn: Connection) -> None:
    version = conn.execute("PRAGMA cipher_version").fetchone()
    if not version or not version[0]:
        raise StoreError("store-not-encrypted", "SQLCipher is not available")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        raise StoreError("store-bad-key", "wrong key, or not an appliance database") from exc


def _configure(conn: Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL").fetchone()
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")


def _statements(script: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]

"""Key material for the store and the audit log: systemd credentials or key files.

Keys are never read from environment variables or command-line arguments. In
production they come from a systemd credential (`LoadCredentialEncrypted=` puts the
decrypted file under $CREDENTIALS_DIRECTORY); on a development host from a key file
readable by its owner only (mode 0400 or 0600), created 0400 on first use, once for
all the processes that start together. Under systemd (`$CREDENTIALS_DIRECTORY` set) a key
is never created: a unit that lacks a credential and has no key file does not start
(key-credential-missing), so no process can sign or encrypt with a key of its own.

A key file holds 64 hex digits (256 bits); a credential may hold the same, or the 32
raw bytes. Key values never appear in error messages.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ConfigError

KEY_BYTES = 32
_HEX = re.compile(rb"^[0-9a-fA-F]{64}$")
KEY_FILE_MODE = 0o400
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for the unit; a path, not a key


@dataclass(frozen=True, slots=True)
class LoadedKey:
    key: bytes  # 32 bytes; never log
    source: str  # "credential" | "file"
    path: Path

    @property
    def hex(self) -> str:
        return self.key.hex()


def credential_path(name: str) -> Path | None:
    """$CREDENTIALS_DIRECTORY/<name> if systemd passed that credential, else None."""
    directory = os.environ.get(CREDENTIALS_ENV)
    if not directory:
        return None
    candidate = Path(directory) / name
    return candidate if candidate.is_file() else None


def load_key(credential: str, key_file: Path, *, create: bool = False) -> LoadedKey:
    """The 256-bit key from the credential `credential`, else from `key_file`.

    With `create`, a missing key file is created with a fresh random key (development).
    Raises ConfigError: key-missing, key-file-permissions, key-bad-format, key-read-failed.
    """
    cred = credential_path(credential)
    if cred is not None:
        return LoadedKey(_parse(_read(cred), cred), "credential", cred)
    if not key_file.exists():
        if os.environ.get(CREDENTIALS_ENV):  # under systemd: never a key of our own
            raise ConfigError(
                "key-credential-missing",
                f"the unit has no credential {credential!r} (LoadCredentialEncrypted=)"
                f" and there is no key file {key_file}",
            )
        if not create:
            raise ConfigError(
                "key-missing", f"no credential {credential!r} and no key file {key_file}"
            )
        create_key_file(key_file, generate_key())
    check_key_file_mode(key_file)
    return LoadedKey(_parse(_read(key_file), key_file), "file", key_file)


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def check_key_file_mode(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            "key-file-permissions", f"{path} must be readable by its owner only (mode {mode:o})"
        )


def write_key_file(path: Path, key: bytes) -> None:
    """Atomically write `key` (hex) to `path`, mode 0400, fsynced with its directory."""
    if len(key) != KEY_BYTES:
        raise ConfigError("key-bad-format", "a key must be 32 bytes")
    write_private_file(path, key.hex().encode("ascii") + b"\n")


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically write `data` to `path`, mode 0400, fsynced with its directory."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def create_key_file(path: Path, key: bytes) -> None:
    """Create `path` holding `key` unless it exists (then leave it: the caller reads it).

    Development only. Several processes may start at once (`appliance run`): each writes
    its own temporary file and links it in with no overwrite (link fails if `path`
    exists), so the first one wins and every process then reads that one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        try:
            os.write(fd, key.hex().encode("ascii") + b"\n")
            os.fchmod(fd, KEY_FILE_MODE)
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(tmp, path)
    except OSError as exc:
        raise ConfigError("key-write-failed", f"cannot create {path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError("key-read-failed", f"cannot read {path}: {exc.strerror}") from exc


def _parse(data: bytes, path: Path) -> bytes:
    text = data.strip()
    if _HEX.match(text):
        return bytes.fromhex(text.decode("ascii"))
    if len(data) == KEY_BYTES:
        return data
    raise ConfigError("key-bad-format", f"{path} must hold 64 hex digits or 32 raw bytes")

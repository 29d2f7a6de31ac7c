"""Key loading (credential or owner-only key file) and the cipher-settings floor."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest

from appliance.errors import ConfigError, StoreError
from appliance.store.cipher import check_cipher_settings
from appliance.store.keys import load_key, write_key_file

pytestmark = pytest.mark.unit

GOOD = {
    "cipher_version": "4.19.0 community",
    "kdf_iter": "256000",
    "cipher_page_size": "4096",
    "cipher_use_hmac": "1",
    "cipher_plaintext_header_size": "0",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
}


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def test_a_dev_key_file_is_created_0400_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "db.key"
    first = load_key("db.key", path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o400 and first.source == "file"
    assert len(first.key) == 32 and load_key("db.key", path).key == first.key
    assert first.hex not in repr(first.path)


def test_a_missing_key_is_an_error_without_create(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_key("db.key", tmp_path / "db.key")
    assert err.value.code == "key-missing"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "db.key"
    write_key_file(path, b"\x01" * 32)
    path.chmod(mode)
    with pytest.raises(ConfigError) as err:
        load_key("db.key", path)
    assert err.value.code == "key-file-permissions"


@pytest.mark.parametrize("content", [b"abc\n", b"zz" * 32, b"\x01" * 31])
def test_a_malformed_key_is_refused_without_echoing_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "db.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError) as err:
        load_key("db.key", path)
    assert err.value.code == "key-bad-format" and content.decode("latin-1") not in err.value.message


def test_a_systemd_credential_wins_over_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "db.key").write_bytes(b"\x07" * 32)  # raw bytes, as systemd-creds may hold
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    loaded = load_key("db.key", tmp_path / "absent.key")
    assert (loaded.key, loaded.source) == (b"\x07" * 32, "credential")
    assert not (tmp_path / "absent.key").exists()


def test_sqlcipher_4_defaults_pass() -> None:
    check_cipher_settings(GOOD)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cipher_version", "3.4.2 community"),
        ("kdf_iter", "64000"),
        ("cipher_page_size", "1024"),
        ("cipher_use_hmac", "0"),
        ("cipher_plaintext_header_size", "32"),
        ("cipher_hmac_algorithm", "HMAC_SHA1"),
        ("cipher_kdf_algorithm", "PBKDF2_HMAC_SHA1"),
    ],
)
def test_anything_weaker_is_refused(name: str, value: str) -> None:
    with pytest.raises(StoreError) as err:
        check_cipher_settings({**GOOD, name: value})
    assert err.value.code == "store-weak-cipher"


def test_under_systemd_a_missing_credential_is_an_error_not_a_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "db.key").write_text("ab" * 32)  # the unit passes some credentials, not this one
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    path = tmp_path / "keys" / "audit-signing.key"
    with pytest.raises(ConfigError) as err:
        load_key("audit-signing.key", path, create=True)
    assert err.value.code == "key-credential-missing"
    assert "audit-signing.key" in str(err.value)
    assert not path.exists() and not path.parent.exists()  # nothing written silently


def _load_at_once(path: Path, start: Any, out: Any) -> None:
    start.wait()
    try:
        out.put(load_key("audit-signing.key", path, create=True).hex)
    except Exception as exc:  # reported to the test, which fails on it
        out.put(f"error: {type(exc).__name__} {exc}")


def test_processes_creating_the_dev_key_at_once_end_with_one_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for attempt in range(8):
        path = tmp_path / f"round{attempt}" / "audit-signing.key"
        start, out = ctx.Event(), ctx.Queue()
        workers = [ctx.Process(target=_load_at_once, args=(path, start, out)) for _ in range(4)]
        for worker in workers:
            worker.start()
        start.set()
        keys = {out.get(timeout=30) for _ in workers}
        for worker in workers:
            worker.join(timeout=30)
        assert keys == {load_key("audit-signing.key", path).hex}, f"round {attempt}: {keys}"
        assert sorted(p.name for p in path.parent.iterdir()) == ["audit-signing.key"]

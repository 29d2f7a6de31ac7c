"""The sealed keyring of previous database keys: never plaintext, owner-only, opened only
with the key it was sealed under, at most PREVIOUS_KEYS_KEPT keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from appliance.errors import ConfigError, StoreError
from appliance.store.keyring import (
    PREVIOUS_KEYS_KEPT,
    key_id,
    read_previous,
    retire,
    seal_previous,
)
from appliance.store.keys import generate_key

pytestmark = pytest.mark.unit


def test_sealed_keys_read_back_only_with_the_sealing_key(tmp_path: Path) -> None:
    ring, sealing = tmp_path / "keys" / "db.key.previous", generate_key()
    keys = [generate_key(), generate_key()]
    assert read_previous(ring, sealing) == []  # none yet
    seal_previous(ring, sealing, keys)
    assert stat.S_IMODE(ring.stat().st_mode) == 0o400
    data = ring.read_bytes()
    for key in (*keys, sealing):
        assert key not in data and key.hex().encode() not in data
    assert read_previous(ring, sealing) == keys
    with pytest.raises(StoreError) as err:
        read_previous(ring, generate_key())
    assert err.value.code == "store-keyring-unreadable"
    assert sealing.hex() not in err.value.message


def test_a_tampered_or_exposed_keyring_is_refused(tmp_path: Path) -> None:
    ring, sealing = tmp_path / "db.key.previous", generate_key()
    seal_previous(ring, sealing, [generate_key()])
    data = bytearray(ring.read_bytes())
    data[-1] ^= 1
    ring.chmod(0o600)
    ring.write_bytes(bytes(data))
    with pytest.raises(StoreError) as err:
        read_previous(ring, sealing)
    assert err.value.code == "store-keyring-unreadable"
    ring.chmod(0o644)
    with pytest.raises(ConfigError) as perm:
        read_previous(ring, sealing)
    assert perm.value.code == "key-file-permissions"


def test_retiring_keeps_the_newest_keys_up_to_the_limit() -> None:
    keys = [generate_key() for _ in range(PREVIOUS_KEYS_KEPT)]
    kept, dropped = retire(keys[1:], keys[0])
    assert kept == keys and dropped == 0
    newest = generate_key()
    kept, dropped = retire(keys, newest)
    assert kept == [newest, *keys[:-1]] and dropped == 1
    assert retire([newest], newest) == ([newest], 0)  # never twice


def test_a_key_id_names_a_key_without_revealing_it() -> None:
    key = generate_key()
    assert len(key_id(key)) == 16 and key_id(key) == key_id(bytes(key))
    assert key_id(key) not in key.hex() and key_id(key) != key_id(generate_key())

"""The LLM API key comes from a systemd credential when there is one, else a key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.store.bootstrap import llm_api_key

pytestmark = pytest.mark.unit


def settings_with_key_file(tmp_path: Path):
    cfg = tmp_path / "a.toml"
    cfg.write_text(f'[llm]\napi_key_file = "{tmp_path}/keys/llm.key"\n')
    return load_settings(cfg)


def test_dev_key_file_is_made_owner_only_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    settings = settings_with_key_file(tmp_path)
    first = llm_api_key(settings)
    assert len(first) == 64 and llm_api_key(settings) == first
    mode = stat.S_IMODE((tmp_path / "keys" / "llm.key").stat().st_mode)
    assert mode & 0o077 == 0


def test_credential_wins_over_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "llm.key").write_text("ab" * 32)
    (creds / "llm.key").chmod(0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert llm_api_key(settings_with_key_file(tmp_path)) == "ab" * 32
    assert not (tmp_path / "keys" / "llm.key").exists()

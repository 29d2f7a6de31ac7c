"""Sentence cutting for streamed replies, and settings loading with coded errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance.config import load_settings, read_or_create_secret
from appliance.conversation.prompts import clinic_prompts
from appliance.conversation.sentences import clean, split_ready
from appliance.errors import ConfigError

pytestmark = pytest.mark.unit


def test_split_ready_keeps_the_unfinished_tail() -> None:
    ready, rest = split_ready("We open at eight. We close at fi")
    assert ready == ["We open at eight."]
    assert rest == "We close at fi"


def test_split_ready_needs_whitespace_after_the_stop() -> None:
    # "Dr." followed by more text in the same delta is cut only once a space follows
    ready, rest = split_ready("It costs 3.5")
    assert ready == [] and rest == "It costs 3.5"


def test_long_clause_is_cut_at_a_comma() -> None:
    text = "If you would like to move your appointment to another day next week, " + "I can"
    ready, rest = split_ready(text)
    assert ready == ["If you would like to move your appointment to another day next week,"]
    assert rest == "I can"


def test_clean_strips_markdown() -> None:
    assert clean("**Sure!**  We are `open`.") == "Sure! We are open."


def test_greeting_starts_with_the_disclosure() -> None:
    prompts = clinic_prompts("Lakeside Clinic", "weekdays")
    assert prompts.greeting.startswith(
        "You're speaking with the automated assistant of Lakeside Clinic"
    )


def test_defaults_load() -> None:
    s = load_settings(None)
    assert (s.sip.host, s.sip.port, s.admin.port) == ("127.0.0.1", 5060, 8080)


def test_override_file(tmp_path: Path) -> None:
    cfg = tmp_path / "a.toml"
    cfg.write_text('[sip]\nport = 5070\n[clinic]\nname = "X"\n')
    s = load_settings(cfg)
    assert s.sip.port == 5070 and s.clinic.name == "X" and s.sip.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[sip\nport=1", "config-syntax"),
        ('[sip]\nport = "x"\n', "config-invalid"),
        ("[sip]\nport = 70000\n", "config-invalid"),
        ('[sip]\ntransports = ["sctp"]\n', "config-invalid"),
        ("[nonsense]\na = 1\n", "config-invalid"),
        ("[stt]\nwindow_s = 5.0\n", "config-invalid"),  # Whisper repeats itself below 10 s
        ("[stt]\nwindow_s = 31.0\n", "config-invalid"),
        ('[vad]\nearly_end_of_turn = "yes"\n', "config-invalid"),
        ('[sip]\nsrtp = "optional"\n', "sip-srtp-needs-tls"),  # SDES keys over TLS only
    ],
)
def test_bad_config_is_a_coded_error(tmp_path: Path, text: str, code: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert err.value.code == code


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope.toml")
    assert err.value.code == "config-missing"


def test_secret_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "db.key"
    first = read_or_create_secret(path)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path) == first


def test_secret_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.key"
    path.write_text("ab" * 32)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError) as err:
        read_or_create_secret(path)
    assert err.value.code == "key-file-permissions"

"""[retention] settings: audit kept at least 6 years, coherent days, no audio kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import AUDIT_MIN_DAYS, load_settings
from appliance.errors import ConfigError


def load(tmp_path: Path, text: str) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text(text, "utf-8")
    load_settings(config)


def test_defaults_keep_audit_six_years_and_no_audio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    r = load_settings().retention
    assert r.audit_days == AUDIT_MIN_DAYS >= 6 * 365.25
    assert r.audio == "none" and r.purge_every_h == 24.0
    assert r.call_days >= load_settings().store.transcript_retention_days


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[retention]\naudit_days = 365\n", "config-audit-retention-short"),
        (f"[retention]\naudit_days = {AUDIT_MIN_DAYS - 1}\n", "config-audit-retention-short"),
        ("[retention]\nhandoff_days = 0\n", "config-invalid"),
        ("[retention]\npurge_every_h = -1\n", "config-invalid"),
        ("[retention]\ncall_days = 30\n", "config-invalid"),  # < transcript days (90)
        ('[retention]\naudio = "30d"\n', "config-invalid"),
    ],
)
def test_bad_retention_is_a_coded_config_error(tmp_path: Path, text: str, code: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert err.value.code == code


def test_longer_audit_retention_is_accepted(tmp_path: Path) -> None:
    load(tmp_path, "[retention]\naudit_days = 3650\nhandoff_days = 1\n")

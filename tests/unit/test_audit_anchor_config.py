"""[store] audit_anchor_*: a bad anchor file or syslog address is a coded ConfigError at
load time; the defaults anchor every hour to var/audit/anchors.jsonl, no syslog."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.errors import ConfigError
from appliance.governance.audit_anchor import anchor_path

pytestmark = pytest.mark.unit


def load(tmp_path: Path, store: str) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text(f"[store]\n{store}\n", "utf-8")
    load_settings(config)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    settings = load_settings()
    assert anchor_path(settings) == settings.var_dir / "audit" / "anchors.jsonl"
    assert settings.store.audit_anchor_syslog == ""
    assert settings.store.audit_anchor_every_h == 1.0


@pytest.mark.parametrize(
    ("store", "code"),
    [
        ('audit_anchor_file = "/var/lib/appliance-audit/"', "config-audit-anchor-file"),
        ('audit_anchor_file = "var/appliance.db"', "config-audit-anchor-file"),  # the store
        ('audit_anchor_file = "var/keys/audit-signing.key"', "config-audit-anchor-file"),
        ('audit_anchor_file = "a\\u0000b"', "config-audit-anchor-file"),
        ('audit_anchor_syslog = "10.20.100.5"', "config-audit-anchor-syslog"),  # no port
        ('audit_anchor_syslog = "10.20.100.5:0"', "config-audit-anchor-syslog"),
        ('audit_anchor_syslog = "10.20.100.5:70000"', "config-audit-anchor-syslog"),
        ('audit_anchor_syslog = "udp://10.20.100.5:514"', "config-audit-anchor-syslog"),
        ('audit_anchor_syslog = "log host:514"', "config-audit-anchor-syslog"),
        ('audit_anchor_syslog = "log_host:514"', "config-audit-anchor-syslog"),
        ('audit_anchor_syslog = "fd00::5:514"', "config-audit-anchor-syslog"),  # v6: [..]
        ('audit_anchor_syslog = "[logs.example]:514"', "config-audit-anchor-syslog"),
        ("audit_anchor_every_h = -1", "config-invalid"),
    ],
)
def test_a_bad_anchor_setting_is_a_coded_config_error(
    tmp_path: Path, store: str, code: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, store)
    assert err.value.code == code


@pytest.mark.parametrize(
    "store",
    [
        'audit_anchor_file = "/var/lib/appliance-audit/anchors.jsonl"',
        'audit_anchor_syslog = "10.20.100.5:514"',
        'audit_anchor_syslog = "[fd00:100::5]:514"',
        'audit_anchor_syslog = "syslog.mgmt.clinic.example:6514"',
        "audit_anchor_every_h = 0",
    ],
)
def test_good_anchor_settings_load(tmp_path: Path, store: str) -> None:
    load(tmp_path, store)

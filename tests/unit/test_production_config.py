"""The production config that the Ansible role renders (roles/appliance/templates/
appliance.toml.j2, with the site-wide and role defaults): it loads, and the demo clinic and
demo front desk of `make run` are off, so a real install never seeds synthetic patients,
answers from the demo KB, or transfers callers to a desk on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from appliance.config import Settings, load_settings
from appliance.demo.config import front_desk_uri, kb_path
from appliance.governance.audit_anchor import anchor_path

pytestmark = pytest.mark.unit

ANSIBLE = Path(__file__).resolve().parents[2] / "ansible"
TEMPLATE = ANSIBLE / "roles" / "appliance" / "templates" / "appliance.toml.j2"


def ansible_bool(value: Any) -> bool:
    """Ansible's `bool` filter, for the values the role's variables take."""
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "on", "1", "true", "y")
    return bool(value)


def defaults() -> dict[str, Any]:
    """group_vars/all.yml over every role's defaults/main.yml (Ansible's precedence)."""
    found: dict[str, Any] = {}
    for path in sorted(ANSIBLE.glob("roles/*/defaults/main.yml")):
        found.update(yaml.safe_load(path.read_text()) or {})
    found.update(yaml.safe_load((ANSIBLE / "group_vars" / "all.yml").read_text()))
    return found


def rendered(tmp: Path, **overrides: Any) -> Settings:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["to_json"] = json.dumps
    env.filters["bool"] = ansible_bool
    text = env.from_string(TEMPLATE.read_text()).render({**defaults(), **overrides})
    config = tmp / "appliance.toml"
    config.write_text(text)
    return load_settings(config)


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_a_real_install_has_no_demo_clinic_and_no_demo_desk(tmp_path: Path, profile: str) -> None:
    settings = rendered(tmp_path, appliance_root=str(tmp_path), appliance_profile=profile)
    assert (settings.demo.clinic, settings.demo.front_desk) == (False, False)
    assert settings.workflows.enabled and settings.stt.device == (
        "cuda" if profile == "gpu" else "cpu"
    )
    assert front_desk_uri(settings) == ""  # no desk configured: no transfers, not loopback
    assert kb_path(settings) is None  # no KB file: [clinic] facts, never the demo KB


def test_the_clinic_s_own_front_desk_is_the_transfer_target(tmp_path: Path) -> None:
    desk = "sip:frontdesk@10.20.5.10"
    settings = rendered(tmp_path, appliance_root=str(tmp_path), appliance_front_desk_uri=desk)
    assert front_desk_uri(settings) == desk


def test_the_defaults_of_make_run_have_both_on() -> None:
    """The other side: without the rendered file, the demo is on (defaults.toml)."""
    settings = load_settings(None)
    assert (settings.demo.clinic, settings.demo.front_desk) == (True, True)
    assert front_desk_uri(settings) == "sip:frontdesk@127.0.0.1:5090"


def test_audit_anchors_go_to_the_append_only_file_and_the_management_syslog(
    tmp_path: Path,
) -> None:
    """The anchor file is the root-owned one the role makes append-only, not var/audit/;
    the syslog server is rendered when one is set ([v6] bracketed)."""
    settings = rendered(tmp_path, appliance_root=str(tmp_path))
    assert anchor_path(settings) == tmp_path / "var/lib/appliance-audit/anchors.jsonl"
    assert settings.store.audit_anchor_syslog == ""
    assert settings.store.audit_anchor_every_h == 1.0
    for host, address in (("10.20.100.5", "10.20.100.5:514"), ("fd00::5", "[fd00::5]:514")):
        settings = rendered(tmp_path, appliance_root="", appliance_audit_syslog_host=host)
        assert settings.store.audit_anchor_syslog == address

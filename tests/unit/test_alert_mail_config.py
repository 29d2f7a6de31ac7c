"""Alert mail as the roles render it: one SMTP relay (group_vars appliance_smtp_relay_*) is
both the firewall's one SMTP rule and Alertmanager's smarthost, and Alertmanager requires
STARTTLS and verifies the relay's certificate. The delivery itself is tested in network
namespaces (tests/integration/test_alert_mail_netns.py)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.isolation import firewall, settings
from tests.ansible_role import render_template

pytestmark = pytest.mark.unit

RELAYS = ["", "10.20.100.4", "fd00:20::4"]


def _alertmanager(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        render_template("monitoring", "alertmanager.yml.j2", **overrides)
    )
    return data


@pytest.mark.parametrize("relay", RELAYS)
def test_the_firewall_template_and_the_python_ruleset_agree(relay: str) -> None:
    """The role's nftables template renders what render() makes of isolation.toml."""
    site = {"appliance_smtp_relay_host": relay, "appliance_smtp_relay_port": 587}
    site["appliance_pbx_networks"] = ["10.20.5.10", "fd00:5::/64"]
    toml = render_template("appliance", "isolation.toml.j2", **site)
    parsed = settings.parse(tomllib.loads(toml)).firewall
    nft = render_template("firewall", "appliance.nft.j2", **site)
    assert nft == firewall.render(parsed)
    rules = [line.strip() for line in nft.splitlines() if "dport 587" in line]
    family = "ip6" if ":" in relay else "ip"
    width = 128 if ":" in relay else 32
    assert rules == (
        [f"{family} daddr {{ {relay}/{width} }} tcp dport 587 accept"] if relay else []
    )


def test_no_relay_or_no_recipient_means_no_mail() -> None:
    for overrides in (
        {},
        {"appliance_smtp_relay_host": "10.20.100.4"},
        {"monitoring_alert_email": "oncall@clinic.example"},
    ):
        config = _alertmanager(**overrides)
        assert "global" not in config
        assert config["receivers"] == [{"name": "site"}]
        assert config["route"]["group_wait"] == "30s"


@pytest.mark.parametrize(
    ("relay", "smarthost"), [("10.20.100.4", "10.20.100.4:25"), ("fd00::4", "[fd00::4]:25")]
)
def test_mail_goes_to_the_relay_with_verified_tls(relay: str, smarthost: str) -> None:
    config = _alertmanager(
        appliance_smtp_relay_host=relay, monitoring_alert_email="oncall@clinic.example"
    )
    assert config["global"]["smtp_smarthost"] == smarthost
    assert config["global"]["smtp_require_tls"] is True
    [email] = config["receivers"][0]["email_configs"]
    assert email["to"] == "oncall@clinic.example"
    # the system's CAs and the relay's address as the name, unless the site says otherwise
    assert email["tls_config"] == {"insecure_skip_verify": False}


def test_the_site_s_ca_server_name_and_timing() -> None:
    config = _alertmanager(
        appliance_smtp_relay_host="10.20.100.4",
        appliance_smtp_relay_port=587,
        monitoring_alert_email="oncall@clinic.example",
        monitoring_smtp_ca_file="/etc/ssl/clinic-ca.pem",
        monitoring_smtp_tls_server_name="relay.clinic.example",
        monitoring_alert_group_wait="1s",
    )
    assert config["global"]["smtp_smarthost"] == "10.20.100.4:587"
    assert config["receivers"][0]["email_configs"][0]["tls_config"] == {
        "insecure_skip_verify": False,
        "ca_file": "/etc/ssl/clinic-ca.pem",
        "server_name": "relay.clinic.example",
    }
    assert config["route"]["group_wait"] == "1s"


@pytest.mark.integration
@pytest.mark.parametrize("relay", RELAYS)
def test_amtool_accepts_the_rendered_configuration(tmp_path: Path, relay: str) -> None:
    assert shutil.which("amtool"), "no amtool: `make setup-test` installs prometheus-alertmanager"
    path = tmp_path / "alertmanager.yml"
    path.write_text(
        render_template(
            "monitoring",
            "alertmanager.yml.j2",
            appliance_smtp_relay_host=relay,
            monitoring_alert_email="oncall@clinic.example",
        )
    )
    result = subprocess.run(
        ["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout

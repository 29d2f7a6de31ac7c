"""The admin app on the network: never without TLS, and Prometheus scrapes it where it
listens (a scrape of 127.0.0.1 never reaches an admin bound to the management address,
so ApplianceDown would always fire)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import msgspec
import pytest
import yaml

from appliance.admin.standalone import admin_endpoint, is_loopback
from appliance.config import Settings, load_settings
from appliance.errors import ConfigError
from tests.ansible_role import render_agent_dropins
from tests.conftest import REPO

MONITORING = REPO / "ansible/roles/monitoring/templates"


def settings_with(tmp_path: Path, **admin: Any) -> Settings:
    settings = load_settings(None)
    return msgspec.structs.replace(settings, admin=msgspec.structs.replace(settings.admin, **admin))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("", False), ("10.20.100.15", False),
     ("admin.clinic.example", False)],
)  # fmt: skip
def test_loopback_means_this_host_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "10.20.100.15", "::"])
def test_a_network_address_without_tls_is_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        admin_endpoint(settings_with(tmp_path, host=host))
    assert caught.value.code == "admin-needs-tls"


def test_loopback_without_tls_and_the_network_with_tls_are_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert admin_endpoint(settings_with(tmp_path, host="127.0.0.1", port=8080)) == (
        "127.0.0.1", 8080, None,
    )  # fmt: skip
    cert, key = tmp_path / "admin.crt", tmp_path / "tls.key"
    cert.write_text("cert")
    key.write_text("key")
    served = admin_endpoint(
        settings_with(
            tmp_path,
            host="10.20.100.15",
            port=8443,
            tls_cert_file=str(cert),
            tls_key_file=str(key),
        )
    )
    assert served == ("10.20.100.15", 8443, (str(cert), str(key)))


def test_the_admin_command_exits_with_the_code_before_opening_anything(tmp_path: Path) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text(f'[paths]\nvar_dir = "{tmp_path / "var"}"\n[admin]\nhost = "0.0.0.0"\n')
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), "admin"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode != 0
    assert "admin-needs-tls" in result.stdout + result.stderr
    assert not (tmp_path / "var" / "appliance.db").exists()


def render_prometheus(admin_host: str) -> dict[str, Any]:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(MONITORING), undefined=jinja2.StrictUndefined
    )
    env.filters["to_json"] = lambda v: __import__("json").dumps(v)
    text = env.get_template("prometheus.yml.j2").render(
        monitoring_scrape_interval="15s",
        monitoring_alertmanager_listen="127.0.0.1:9093",
        monitoring_node_exporter_listen="127.0.0.1:9100",
        monitoring_prometheus_listen="127.0.0.1:9090",
        tls_cert_file="/etc/appliance/tls/admin.crt",
        tls_common_name="voice-appliance-01.clinic.example",
        appliance_https_port=8443,
        appliance_admin_host=admin_host,
    )
    [job] = [j for j in yaml.safe_load(text)["scrape_configs"] if j["job_name"] == "appliance"]
    return dict(job)


@pytest.mark.parametrize(
    ("admin_host", "target"),
    [("10.20.100.15", "10.20.100.15:8443"), ("0.0.0.0", "127.0.0.1:8443"),
     ("fd00::15", "[fd00::15]:8443")],
)  # fmt: skip
def test_prometheus_scrapes_the_admin_where_it_listens(admin_host: str, target: str) -> None:
    job = render_prometheus(admin_host)
    assert job["static_configs"] == [{"targets": [target]}]
    assert job["scheme"] == "https"
    # the certificate names the host, not the address: verified against its name
    assert job["tls_config"]["server_name"] == "voice-appliance-01.clinic.example"


def test_the_admin_unit_lets_the_scrape_of_its_own_address_in(tmp_path: Path) -> None:
    site = {"appliance_admin_host": "10.20.100.15", "appliance_audit_syslog_host": ""}
    site["appliance_audit_anchor_file"] = "/var/lib/appliance-audit/anchors.jsonl"
    [network] = [
        p
        for p in render_agent_dropins("cpu", tmp_path, "appliance-admin.service", site)
        if p.name == "50-network.conf"
    ]
    allowed = [line for line in network.read_text().splitlines() if line.startswith("IPAddress")]
    assert allowed == ["IPAddressAllow=198.18.0.3/32", "IPAddressAllow=10.20.100.15"]

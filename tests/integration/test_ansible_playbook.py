"""The playbook applied for real to a temp root (connection local), twice."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import bundle
from appliance.isolation import firewall, settings, units

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
BIN = Path(sys.executable).parent
PLAYBOOK = BIN / "ansible-playbook"

needs_ansible = pytest.mark.skipif(not PLAYBOOK.exists(), reason="needs the ops extra")


def _run(tmp: Path, *extra: str, source: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Apply site.yml from `source` (the repository or an unpacked bundle) to tmp/root."""
    inventory = tmp / "inventory.yml"
    inventory.write_text(
        "appliance:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    variables = tmp / "vars.yml"
    variables.write_text(
        f"appliance_root: {tmp / 'root'}\n"
        "appliance_manage_host: false\n"
        f"appliance_units_src: {source / 'systemd'}\n"
        'appliance_pbx_networks: ["198.18.0.2/32", "fd00:5::/64"]\n'
        'appliance_management_networks: ["198.18.0.3/32"]\n'
        'appliance_ntp_servers: ["198.18.0.2/32"]\n'
        'appliance_dns_servers: ["198.18.0.4/32"]\n'
        "appliance_rtp_ports: [40000, 40099]\n"
        'appliance_probe_tcp: ["198.19.255.1:443"]\n'
        "llm_gpu_memory_share: 0.7\n"
    )
    env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "ANSIBLE_NOCOLOR": "1"}
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp / "ansible-tmp")
    env["ANSIBLE_HOME"] = str(tmp / "ansible-home")
    return subprocess.run(
        [str(PLAYBOOK), "-i", str(inventory), "-e", f"@{variables}", *extra, "site.yml"],
        cwd=source / "ansible",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _changed(output: str) -> int:
    match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output)
    assert match, output
    return int(match.group(1))


@needs_ansible
def test_syntax_check(tmp_path: Path) -> None:
    result = _run(tmp_path, "--syntax-check")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_ansible
@pytest.mark.skipif(shutil.which("nft") is None, reason="the firewall role validates with nft")
def test_playbook_applies_to_a_test_root_and_is_idempotent(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "fake-1.0-py3-none-any.whl").write_bytes(b"PK fake")
    tarball = bundle.build(tmp_path / "bundle.tar.gz", wheelhouse=wheels, model_wheels=wheels)
    source = bundle.unpack(tarball, tmp_path / "bundle")
    assert bundle.verify(source) == []

    first = _run(tmp_path, source=source)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _changed(first.stdout) > 0
    second = _run(tmp_path, source=source)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _changed(second.stdout) == 0

    root = tmp_path / "root"
    rendered = settings.load(root / "etc/appliance/isolation.toml")
    assert rendered.firewall.dns == ("198.18.0.4/32",)
    assert rendered.probes.tcp == ("198.19.255.1:443",)
    # The role's template and the Python renderer are one ruleset.
    assert (root / "etc/nftables.conf").read_text() == firewall.render(rendered.firewall)
    assert (root / "etc/nftables.conf").stat().st_mode & 0o777 == 0o600
    installed = root / "etc/systemd/system"
    assert units.check_units(installed) == []
    dropin = installed / "appliance-agent@.service.d/50-network.conf"
    assert dropin.read_text().splitlines()[-2:] == [
        "IPAddressAllow=198.18.0.2/32",
        "IPAddressAllow=fd00:5::/64",
    ]
    assert (root / "etc/appliance/credstore.encrypted").stat().st_mode & 0o777 == 0o700
    engine = (installed / "appliance-llm.service.d/50-engine.conf").read_text()
    assert "APPLIANCE_LLM_GPU_SHARE=0.7 APPLIANCE_LLM_MAX_LEN=8192" in engine


@pytest.mark.skipif(not (BIN / "ansible-lint").exists(), reason="needs the ops extra")
def test_ansible_lint_production_profile(tmp_path: Path) -> None:
    env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1"}
    result = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "--profile", "production"],
        cwd=ANSIBLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failure(s), 0 warning(s)" in result.stdout + result.stderr

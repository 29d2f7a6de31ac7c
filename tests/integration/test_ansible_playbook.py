"""The playbook applied for real to a temp root (connection local), twice.

The bundle is built in the test from a staged source tree: the real ansible/ and systemd/,
plus small real wheels (a locked dependency, the site package, a model package) so that
pip installs from the wheelhouse with --no-index and the models role assembles and checks
a model, all in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from appliance.artifacts import bundle
from appliance.config import load_settings
from appliance.doctor import keys
from appliance.isolation import firewall, settings, units

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
BIN = Path(sys.executable).parent
PLAYBOOK = BIN / "ansible-playbook"

needs_ansible = pytest.mark.skipif(not PLAYBOOK.exists(), reason="needs the ops extra")


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """The test root on disk, under var/tmp: systemd-creds refuses to keep its host key on a
    temporary file system, and /tmp is a tmpfs on some hosts (Debian 13's default)."""
    base = REPO / "var" / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="ansible-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


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
        f"appliance_bundle_dir: {source}\n"
        f"appliance_python: {sys.executable}\n"
        f"appliance_cli: {BIN / 'appliance'}\n"
        "appliance_package: clinic-site\n"
        "appliance_profile: cpu\n"
        "llm_cpu_model: tiny-voice\n"
        'appliance_pbx_networks: ["198.18.0.2/32", "fd00:5::/64"]\n'
        'appliance_management_networks: ["198.18.0.3/32"]\n'
        'appliance_ntp_servers: ["198.18.0.2/32"]\n'
        'appliance_dns_servers: ["198.18.0.4/32"]\n'
        "appliance_audit_syslog_host: 198.18.0.9\n"
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


def _wheel(folder: Path, name: str, files: dict[str, bytes]) -> Path:
    """A real (tiny) py3-none-any wheel that pip can install."""
    dist = f"{name.replace('-', '_')}-1.0"
    meta = {
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    members = {**files, **{k: v.encode() for k, v in meta.items()}}
    record = ""
    for member, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{member},sha256={digest},{len(data)}\n"
    record += f"{dist}.dist-info/RECORD,,\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in {**members, f"{dist}.dist-info/RECORD": record.encode()}.items():
            zf.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data)
    return path


def _staged_source(tmp: Path) -> tuple[Path, Path, Path, bytes]:
    """Source tree, wheelhouse and model wheels for a small but real bundle."""
    repo, wheels, model_wheels = tmp / "repo", tmp / "wheels", tmp / "model-wheels"
    for folder in (repo / "models", wheels, model_wheels):
        folder.mkdir(parents=True)
    (repo / "ansible").symlink_to(ANSIBLE)
    (repo / "systemd").symlink_to(REPO / "systemd")
    dep = _wheel(wheels, "clinic-probe", {"clinic_probe/__init__.py": b"VALUE = 42\n"})
    _wheel(wheels, "clinic-site", {"clinic_site/__init__.py": b""})
    # A package the lock has only as source (like llama-cpp-python): the staging machine
    # built it for the CPU baseline and listed the wheel's hash in portable.txt; the
    # source archive is not in the bundle, so the lock's install must skip it.
    native = _wheel(wheels, "clinic-native", {"clinic_native/__init__.py": b"BUILT = 'v3'\n"})
    (wheels / "portable.txt").write_text(
        f"clinic-native==1.0 --hash=sha256:{bundle.sha256(native)}\n"
    )
    (repo / "requirements.lock").write_text(
        f"clinic-probe==1.0 \\\n    --hash=sha256:{bundle.sha256(dep)}\n"
        f"clinic-native==1.0 \\\n    --hash=sha256:{'0' * 64}\n"
    )
    voice = bytes(range(256)) * 64
    model = _wheel(model_wheels, "tiny-voice", {"tiny_voice/voice.onnx": voice})
    (repo / "models" / "wheels.lock").write_text(
        f"tiny-voice==1.0 --hash=sha256:{bundle.sha256(model)}\n"
    )
    (repo / "models" / "manifest.toml").write_text(
        f"""schema = 1
[[model]]
name = "tiny-voice"
role = "tts"
format = "onnx"
licence = "MIT"
description = "test model"
[[model.source]]
package = "tiny-voice"
version = "1.0"
wheel = "{model.name}"
sha256 = "{bundle.sha256(model)}"
[[model.file]]
path = "voice.onnx"
size = {len(voice)}
sha256 = "{hashlib.sha256(voice).hexdigest()}"
parts = [{{ wheel = "{model.name}", member = "tiny_voice/voice.onnx" }}]
"""
    )
    return repo, wheels, model_wheels, voice


def _decrypt(root: Path, name: str) -> bytes:
    env = {
        **os.environ,
        "SYSTEMD_CREDENTIAL_SECRET": str(root / "var/lib/systemd/credential.secret"),
    }
    path = root / "etc/appliance/credstore.encrypted" / name
    result = subprocess.run(
        ["systemd-creds", "decrypt", f"--name={name}", str(path), "-"],
        capture_output=True,
        env=env,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() not in path.read_bytes()  # sealed, not stored in clear
    return result.stdout


@needs_ansible
@pytest.mark.skipif(shutil.which("nft") is None, reason="the firewall role validates with nft")
def test_playbook_applies_to_a_test_root_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, wheels, model_wheels, voice = _staged_source(tmp_path)
    tarball = bundle.build(
        tmp_path / "bundle.tar.gz", wheelhouse=wheels, model_wheels=model_wheels, repo=repo
    )
    source = bundle.unpack(tarball, tmp_path / "bundle")
    assert bundle.verify(source) == []

    first = _run(tmp_path, source=source)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _changed(first.stdout) > 0
    second = _run(tmp_path, source=source)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _changed(second.stdout) == 0, second.stdout

    root = tmp_path / "root"
    rendered = settings.load(root / "etc/appliance/isolation.toml")
    assert rendered.firewall.dns == ("198.18.0.4/32",)
    assert rendered.probes.tcp == ("198.19.255.1:443",)
    # The role's template and the Python renderer are one ruleset.
    assert (root / "etc/nftables.conf").read_text() == firewall.render(rendered.firewall)
    assert (root / "etc/nftables.conf").stat().st_mode & 0o777 == 0o600
    assert "ip daddr { 198.18.0.9/32 } udp dport 514 accept" in firewall.render(rendered.firewall)
    installed = root / "etc/systemd/system"
    assert units.check_units(installed) == []
    dropin = installed / "appliance-agent@.service.d/50-network.conf"
    assert dropin.read_text().splitlines()[-2:] == [
        "IPAddressAllow=198.18.0.2/32",
        "IPAddressAllow=fd00:5::/64",
    ]
    # the cpu profile: the agent's GPU drop-in adds nothing, its /dev stays private
    agent = units.parse_unit(
        installed / "appliance-agent@.service",
        units.dropins_of(installed / "appliance-agent@.service"),
    )
    assert (installed / "appliance-agent@.service.d/60-gpu.conf").is_file()
    assert agent.last("PrivateDevices") == "yes" and "DeviceAllow" not in agent.settings
    assert (root / "etc/appliance/credstore.encrypted").stat().st_mode & 0o777 == 0o700
    engine = (installed / "appliance-llm.service.d/50-engine.conf").read_text()
    assert "APPLIANCE_LLM_GPU_SHARE=0.7 APPLIANCE_LLM_MAX_LEN=8192" in engine

    # Python packages from the wheelhouse only, into the appliance's venv
    venv_python = root / "opt/appliance/venv/bin/python"
    probe = subprocess.run(
        [
            str(venv_python),
            "-c",
            "import clinic_probe, clinic_site, clinic_native;"
            "print(clinic_probe.VALUE, clinic_native.BUILT)",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout.strip() == "42 v3", probe.stderr
    # the config renders and loads; paths under the root, engine in its own unit
    config = load_settings(root / "etc/appliance/appliance.toml")
    assert config.models_dir == root / "opt/appliance/models"
    assert config.paths.manifest == str(root / "opt/appliance/manifest.toml")
    assert not config.llm.server.enabled and config.stt.device == "cpu"
    assert config.sip.allowed_sources == ["198.18.0.2/32", "fd00:5::/64"]
    assert not config.demo.clinic and not config.demo.front_desk  # no demo on a real install
    # audit anchors: a root-owned folder the admin unit may append in, and the syslog server
    anchors = root / "var/lib/appliance-audit/anchors.jsonl"
    assert config.store.audit_anchor_file == str(anchors)
    assert config.store.audit_anchor_syslog == "198.18.0.9:514"
    assert anchors.stat().st_mode & 0o777 == 0o660 and anchors.read_bytes() == b""
    assert anchors.parent.stat().st_mode & 0o777 == 0o750
    admin = installed / "appliance-admin.service.d"
    assert "IPAddressAllow=198.18.0.9" in (admin / "50-network.conf").read_text().splitlines()
    assert (admin / "55-audit-anchor.conf").read_text().splitlines()[-1] == (
        "ReadWritePaths=/var/lib/appliance-audit"
    )
    # models assembled from the bundle's model wheels and checked
    assert (root / "opt/appliance/models/tiny-voice/voice.onnx").read_bytes() == voice
    # keys sealed with systemd-creds (TPM2 when present, else this root's host key)
    creds = root / "etc/appliance/credstore.encrypted"
    names = {
        "db.key",
        "audit-signing.key",
        "llm.key",
        "tls.key",
        "screenpop.key",
        "llm-server.json",
    }
    assert {p.name for p in creds.iterdir()} == names
    assert all((creds / n).stat().st_mode & 0o777 == 0o600 for n in names)
    db_key = _decrypt(root, "db.key").strip()
    assert re.fullmatch(rb"[0-9a-f]{64}", db_key)
    llm_key = _decrypt(root, "llm.key").strip()
    server = json.loads(_decrypt(root, "llm-server.json"))
    assert server["api_key"] == llm_key.decode() != db_key.decode()
    assert server["host"] == "127.0.0.1"
    assert server["models"][0]["model"] == "/opt/appliance/models/tiny-voice/model.gguf"
    assert b"PRIVATE KEY" in _decrypt(root, "tls.key")
    # `appliance doctor` finds every credential the installed units load, sealed for this
    # (test) host, root-owned and closed to others
    secret = root / "var/lib/systemd/credential.secret"
    monkeypatch.setenv("SYSTEMD_CREDENTIAL_SECRET", str(secret))
    found = keys.check_credentials(installed, root=root)
    assert {f.name for f in found} == names
    assert all(f.status == "ok" for f in found), found
    cert = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-in", str(root / "etc/appliance/tls/admin.crt")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "CN = localhost" in cert.stdout, cert.stderr
    # monitoring listens and scrapes on loopback only
    assert "127.0.0.1:9090" in (root / "etc/default/prometheus").read_text()
    prometheus = yaml.safe_load((root / "etc/prometheus/prometheus.yml").read_text())
    assert "remote_write" not in prometheus
    targets = [t for job in prometheus["scrape_configs"] for c in job["static_configs"]
               for t in c["targets"]]  # fmt: skip
    assert targets and all(t.startswith("127.0.0.1:") for t in targets)


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

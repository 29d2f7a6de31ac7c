"""`appliance doctor`: real checks on this machine, and failures it must catch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.doctor import gpu, host, keys, network, storage
from appliance.doctor.report import Finding
from appliance.doctor.run import run_all
from tests.conftest import REPO, free_port, free_ports

pytestmark = pytest.mark.integration


def _config(tmp: Path, models: Path, **ports: int) -> Path:
    var = tmp / "var"
    admin = ports.get("admin", free_port())
    config = tmp / "appliance.toml"
    config.write_text(
        f"""
[paths]
var_dir = "{var}"
models_dir = "{models}"
[sip]
port = {free_port()}
worker_port = {free_ports(2)}
[admin]
port = {admin}
[llm]
api_key_file = "{var}/keys/llm.key"
[llm.server]
port = {free_port()}
[store]
db_file = "{var}/appliance.db"
key_file = "{var}/keys/db.key"
audit_key_file = "{var}/keys/audit-signing.key"
"""
    )
    return config


def _doctor(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), "doctor", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def _by_name(findings: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {f"{f['group']}/{f['name']}": f for f in findings}


def test_doctor_on_this_machine(tmp_path: Path, models_dir: Path) -> None:
    out = tmp_path / "doctor.json"
    result = _doctor(_config(tmp_path, models_dir), "--json", "--out", str(out))
    report = json.loads(result.stdout)
    assert json.loads(out.read_text()) == report
    assert out.stat().st_mode & 0o777 == 0o640
    found = _by_name(report["findings"])
    groups = {f["group"] for f in report["findings"]}
    assert groups == {"host", "storage", "gpu", "models", "keys", "time", "network"}
    # exit status, verdict and counts agree with the findings
    failures = [f for f in report["findings"] if f["status"] == "fail"]
    assert report["failures"] == len(failures)
    assert report["passed"] is (not failures)
    assert result.returncode == (1 if failures else 0)
    # facts checked independently
    assert found["host/python"]["status"] == "ok"
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in found["host/python"]["detail"]
    for name in ("whisper-tiny.en", "en_US-joe-medium", "qwen2.5-coder-0.5b-instruct-q4_k_m"):
        assert found[f"models/{name}"]["status"] == "ok", found[f"models/{name}"]
    for role in ("sip udp", "admin tcp", "llm tcp", "agent worker 0 udp"):
        assert any(k.startswith(f"network/{role}/") and v["status"] == "ok"
                   for k, v in found.items()), role  # fmt: skip
    # no key files yet in a fresh var dir: warnings, not failures
    assert found["keys/db.key"]["status"] == "warn"
    assert report["profile"] == "cpu"
    text = _doctor(_config(tmp_path, models_dir)).stdout
    assert "RESULT: " in text and "[OK  ] models   whisper-tiny.en" in text


def test_occupied_port_fails(tmp_path: Path, models_dir: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = _doctor(_config(tmp_path, models_dir, admin=port), "--json")
    assert result.returncode == 1
    finding = _by_name(json.loads(result.stdout)["findings"])[f"network/admin tcp/{port}"]
    assert finding["status"] == "fail"
    assert "in use" in finding["detail"]


def test_flipped_model_byte_fails(tmp_path: Path, models_dir: Path) -> None:
    models = tmp_path / "models"
    source = models_dir / "whisper-tiny.en"
    (models / source.name).mkdir(parents=True)
    for f in source.iterdir():
        if f.name == "config.json":
            data = bytearray(f.read_bytes())
            data[10] ^= 0x01
            (models / source.name / f.name).write_bytes(bytes(data))
        elif not f.name.startswith("."):
            (models / source.name / f.name).symlink_to(f)
    result = _doctor(_config(tmp_path, models), "--json")
    assert result.returncode == 1
    found = _by_name(json.loads(result.stdout)["findings"])
    assert found["models/whisper-tiny.en"]["status"] == "fail"
    assert found["models/whisper-tiny.en"]["detail"] == (
        "model-checksum-mismatch: whisper-tiny.en/config.json"
    )
    assert found["models/en_US-joe-medium"]["detail"].startswith("model-missing:")


def test_key_file_with_wrong_mode_fails(tmp_path: Path, models_dir: Path) -> None:
    config = _config(tmp_path, models_dir)
    keydir = tmp_path / "var" / "keys"
    keydir.mkdir(parents=True)
    for name, mode in (("db.key", 0o644), ("llm.key", 0o400)):
        (keydir / name).write_text("00" * 32 + "\n")
        (keydir / name).chmod(mode)
    settings = load_settings(config)
    found = {f.name: f for f in keys.check_key_files(settings, owner=os.geteuid())}
    assert found["db.key"].status == "fail"
    assert "mode 644" in found["db.key"].detail
    assert found["llm.key"].status == "ok"
    wrong_owner = {f.name: f for f in keys.check_key_files(settings, owner=os.geteuid() + 1)}
    assert wrong_owner["llm.key"].status == "fail"
    assert "owned by uid" in wrong_owner["llm.key"].detail
    report = run_all(settings, units_dir=None)
    assert not report.passed
    assert "[FAIL] keys     db.key" in report.to_text()


def test_installed_credentials_are_checked(tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    for unit in ("appliance-admin.service", "appliance-agent@.service"):
        (units / unit).write_text((REPO / "systemd" / unit).read_text())
    store = tmp_path / "etc/appliance/credstore.encrypted"
    store.mkdir(parents=True)
    for name in ("db.key", "llm.key", "audit-signing.key"):
        (store / name).write_bytes(b"not a credential")
        (store / name).chmod(0o600)
    (store / "llm.key").chmod(0o644)
    found = {f.name: f for f in keys.check_credentials(units, root=tmp_path)}
    assert set(found) == {"db.key", "llm.key", "audit-signing.key", "tls.key", "screenpop.key"}
    assert found["tls.key"].status == "warn"  # its unit is not enabled here
    (units / "appliance.target.wants").mkdir()
    (units / "appliance.target.wants/appliance-admin.service").symlink_to(
        units / "appliance-admin.service"
    )
    found = {f.name: f for f in keys.check_credentials(units, root=tmp_path)}
    assert found["tls.key"].status == "fail" and "missing" in found["tls.key"].detail
    assert found["llm.key"].status == "fail" and "mode 644" in found["llm.key"].detail
    if os.geteuid() == 0 and keys.shutil.which("systemd-creds"):
        # garbage is not an encrypted credential for this host
        assert found["db.key"].status == "fail"
        assert "does not decrypt" in found["db.key"].detail


def test_data_volume_encryption_matches_lsblk() -> None:
    finding = storage.check_encrypted(REPO / "var")
    dev = os.stat(REPO / "var").st_dev
    if os.major(dev) == 0:
        assert finding.status == "warn"
        return
    types = subprocess.run(
        ["lsblk", "-s", "-n", "-o", "TYPE", f"/dev/block/{os.major(dev)}:{os.minor(dev)}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert finding.status == ("ok" if "crypt" in types else "fail"), (finding, types)


def test_crypt_layer_found_below_lvm(tmp_path: Path) -> None:
    """LVM on LUKS: dm-1 (LVM) -> slaves/dm-0 (CRYPT-LUKS2-...) -> slaves/sda2."""
    blocks = tmp_path / "block"
    for name, uuid in (("dm-1", "LVM-abc"), ("dm-0", "CRYPT-LUKS2-0123-data")):
        (blocks / name / "dm").mkdir(parents=True)
        (blocks / name / "dm" / "uuid").write_text(uuid + "\n")
        (blocks / name / "dm" / "name").write_text(f"{name}-name\n")
        (blocks / name / "slaves").mkdir()
    (blocks / "sda2").mkdir()
    (blocks / "dm-1" / "slaves" / "dm-0").symlink_to(blocks / "dm-0")
    (blocks / "dm-0" / "slaves" / "sda2").symlink_to(blocks / "sda2")
    assert storage.crypt_layers(blocks / "dm-1") == ["dm-0-name"]
    assert storage.crypt_layers(blocks / "sda2") == []


def test_gpu_profile_needs_a_gpu() -> None:
    assert [f.status for f in gpu.evaluate("cpu", None)] == ["ok"]
    assert [f.status for f in gpu.evaluate("gpu", None)] == ["fail"]
    l4 = gpu.GpuInfo("550.54.15", "12.4", (gpu.Gpu("NVIDIA L4", 23034 << 20, 300 << 20),))
    assert [f.status for f in gpu.evaluate("gpu", l4)] == ["ok", "ok"]
    old = gpu.GpuInfo("470.82.01", "11.4", (gpu.Gpu("Tesla T4", 15360 << 20, 0),))
    statuses: list[Finding] = gpu.evaluate("gpu", old)
    assert [f.status for f in statuses] == ["warn", "warn"]


def test_host_thresholds() -> None:
    gib = host.GIB
    assert host.check_memory("cpu", total=2 * gib).status == "fail"
    assert host.check_memory("cpu", total=16 * gib).status == "ok"
    assert host.check_memory("gpu", total=16 * gib).status == "fail"
    v3 = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
    assert host.check_cpu("cpu", cores=1, flags=v3, machine="x86_64").status == "fail"
    assert host.check_cpu("cpu", cores=8, flags=v3, machine="x86_64").status == "ok"
    assert host.check_cpu("cpu", cores=4, flags=v3, machine="x86_64").status == "warn"
    assert host.check_python((3, 13)).status == "fail"
    assert host.check_disk(Path("/"), free=1 * gib).status == "fail"


def test_cpu_below_the_baseline_fails_in_plain_words() -> None:
    """A CPU without AVX2/FMA (pre-2013 Xeon) fails the preflight and names what it lacks."""
    sandy_bridge = {"sse4_2", "avx"}
    finding = host.check_cpu("gpu", cores=32, flags=sandy_bridge, machine="x86_64")
    assert finding.status == "fail"
    assert "lacks AVX2, FMA3, F16C (half-precision conversion), BMI2" in finding.detail
    assert "Haswell" in finding.detail and "illegal-instruction" in finding.detail
    arm = host.check_cpu("cpu", cores=8, flags=set(), machine="aarch64")
    assert arm.status == "fail" and "x86-64 CPU is needed" in arm.detail
    # AVX-512 and AMX are neither needed nor harmful
    rich = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "amx_tile"}
    assert host.check_cpu("cpu", cores=16, flags=rich, machine="x86_64").status == "ok"


def test_bind_problem_reports_a_foreign_address() -> None:
    port = network.Port("sip", "udp", "198.18.7.7", free_port())
    problem = network.bind_problem(port)
    assert problem is not None and "not an address of this host" in problem

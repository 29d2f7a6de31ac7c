"""`appliance admin` (the appliance-admin unit): starts alone, READY + WATCHDOG, /healthz."""

from __future__ import annotations

import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from appliance.config import load_settings
from appliance.services.app_db import open_store
from appliance.store.audit import AuditLog, read_anchors
from tests.conftest import REPO, free_port, notify_messages

pytestmark = pytest.mark.integration

# the credentials systemd/appliance-admin.service loads besides tls.key
ADMIN_CREDENTIALS = ("db.key", "audit-signing.key", "llm.key", "screenpop.key")


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "admin.crt", tmp / "creds" / "tls.key"
    key.parent.mkdir(mode=0o700)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-subj", "/CN=appliance", "-addext", "subjectAltName=IP:127.0.0.1",
         "-days", "2", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https-credential"])
def test_admin_runs_alone_with_sd_notify(
    tmp_path: Path, tls: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    var, port = tmp_path / "var", free_port()
    config = tmp_path / "appliance.toml"
    env = {"PATH": "/usr/bin:/bin", "WATCHDOG_USEC": "400000"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(var / "run" / "metrics")  # as the unit sets it
    admin = f"[admin]\nport = {port}\n"
    scheme = "http"
    verify_ctx: bool | ssl.SSLContext = True
    if tls:  # the key as systemd passes it: a credential file, not a config entry
        cert, key = _self_signed(tmp_path)
        admin += f'tls_cert_file = "{cert}"\n'
        for name in ADMIN_CREDENTIALS:  # every key the admin unit loads: none is made
            (key.parent / name).write_text(secrets.token_hex(32))
            (key.parent / name).chmod(0o400)
        env["CREDENTIALS_DIRECTORY"] = str(key.parent)
        scheme, verify_ctx = "https", ssl.create_default_context(cafile=str(cert))
    config.write_text(
        f'[paths]\nvar_dir = "{var}"\n{admin}'
        f'[store]\ndb_file = "{var}/appliance.db"\nkey_file = "{var}/keys/db.key"\n'
    )
    notify = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        env["NOTIFY_SOCKET"] = str(notify)
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "--config", str(config), "admin"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            seen = notify_messages(sock, "READY=1", 60)
            assert any("READY=1" in m for m in seen), (seen, proc.poll())
            base = f"{scheme}://127.0.0.1:{port}"
            health = httpx.get(f"{base}/healthz", timeout=5, verify=verify_ctx)
            # alone, no SIP edge or agent worker has reported (test_health_under_units.py)
            assert health.status_code == 503
            body = health.json()
            assert body["status"] == "degraded"
            assert not body["components"]["sip-edge"]["ok"]
            assert body["components"]["store"]["ok"] is True
            assert body["components"]["admin"]["detail"] == f"listening on 127.0.0.1:{port}"
            metrics = httpx.get(f"{base}/metrics", timeout=5, verify=verify_ctx)
            assert metrics.status_code == 200
            # the last 24 h's KPIs, read from the store by the admin (kpi_metrics.py)
            for _ in range(50):
                text = httpx.get(f"{base}/metrics", timeout=5, verify=verify_ctx).text
                if "\nappliance_kpi_calls 0.0" in text:
                    break
                time.sleep(0.1)
            assert "\nappliance_kpi_calls 0.0" in text
            assert "appliance_kpi_containment_ratio" not in text  # no calls: no share
            # the scheduler's screen-pop is served here too, never without its token
            events = f"{base}/screenpop/events"
            assert httpx.get(events, timeout=5, verify=verify_ctx).status_code == 401
            wrong = {"Authorization": "Bearer " + "00" * 32}
            assert httpx.get(events, headers=wrong, timeout=5, verify=verify_ctx).status_code == 401
            if tls:  # plain HTTP is not served on the HTTPS port
                with pytest.raises(httpx.HTTPError):
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            # the watchdog is pinged at half of WATCHDOG_USEC
            assert any("WATCHDOG=1" in m for m in notify_messages(sock, "WATCHDOG=1", 5))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
            assert any("STOPPING=1" in m for m in notify_messages(sock, "STOPPING=1", 2))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert (var / "appliance.db").exists()  # the store was opened (encrypted)
    if tls:  # under systemd every key is a credential: no key file was made
        assert not list((var / "keys").glob("*")), list((var / "keys").iterdir())
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", env["CREDENTIALS_DIRECTORY"])
    else:  # development: the key files were made, owner-only
        assert oct((var / "keys" / "db.key").stat().st_mode & 0o777) == "0o400"
        assert oct((var / "keys" / "screenpop.key").stat().st_mode & 0o777) == "0o400"
    # without a supervisor the admin unit runs the retention purge, and audits it
    settings = load_settings(config)
    db, _ = open_store(settings)
    try:
        actors = db.query(
            lambda c: [
                r[0] for r in c.execute("SELECT actor FROM audit WHERE action = 'retention.purge'")
            ]
        )
    finally:
        db.close()
    assert actors and set(actors) == {"admin"}
    # ... and exports the audit anchors, the end of the chain at the latest when it stops
    anchors, _ = read_anchors(var / "audit" / "anchors.jsonl")
    db, _ = open_store(settings)
    try:
        assert anchors and AuditLog(db).verify(anchors).ok
        sql = "SELECT max(seq) FROM audit WHERE actor = 'admin'"
        last = db.query(lambda c: int(c.execute(sql).fetchone()[0]))
        assert max(a.seq for a in anchors) >= last
    finally:
        db.close()


def test_admin_https_without_a_key_is_a_coded_error(tmp_path: Path) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text(
        f'[paths]\nvar_dir = "{tmp_path}/var"\n[admin]\nport = {free_port()}\n'
        f'tls_cert_file = "{tmp_path}/missing.crt"\n'
        f'[store]\ndb_file = "{tmp_path}/var/a.db"\nkey_file = "{tmp_path}/var/keys/db.key"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), "admin"],
        cwd=REPO, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "appliance: error admin-tls-missing:" in result.stderr

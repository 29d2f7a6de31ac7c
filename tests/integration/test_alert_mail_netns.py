"""Alert mail leaves the appliance only to the configured on-premises SMTP relay, over TLS.

In the namespaces of tests/integration/netns.py: a real Alertmanager (Debian's
prometheus-alertmanager) runs in the appliance namespace with the configuration and the
arguments the monitoring role renders (loopback, no cluster gossip), a real SMTP relay
(aiosmtpd, STARTTLS required, a certificate from a CA the test makes) on the management
workstation 198.18.0.3, port 25. With the relay in the rendered ruleset, an alert posted
to Alertmanager's v2 API arrives at the relay; without it, the same Alertmanager's attempt
is dropped by the firewall and nothing arrives; with a CA that did not sign the relay's
certificate, Alertmanager refuses the relay. verify-isolation passes with the relay
configured and Alertmanager running.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.isolation.settings import Firewall
from appliance.isolation.units import UNITS_DIR
from tests.ansible_role import render_template
from tests.integration.netns import (
    Hosts,
    build,
    dropped,
    host_tables,
    hosts_named,
    inet_packets,
    load,
    needs_netns,
    run_in,
    teardown,
)

ALERTMANAGER = shutil.which("prometheus-alertmanager")
RELAY, PORT, RELAY_NAME = "198.18.0.3", 25, "relay.clinic.test"
pytestmark = [pytest.mark.integration, needs_netns]
MISSING = "prometheus-alertmanager is not installed: `make setup-test` installs it (TEST_DEBS)"
Key = ec.EllipticCurvePrivateKey
WITH_RELAY = Firewall(pbx=("198.18.0.2/32",), smtp=(f"{RELAY}/32",), smtp_port=PORT)
WITHOUT_RELAY = Firewall(pbx=("198.18.0.2/32",))

# The relay: STARTTLS required before MAIL; "connect" per TCP connection, "tls" per
# completed STARTTLS, one .eml file per message.
RELAY_SCRIPT = textwrap.dedent(
    """
    import asyncio, pathlib, ssl, sys
    from aiosmtpd.smtp import SMTP
    cert, key, port, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), pathlib.Path(sys.argv[4])

    def note(word):
        with open(out / "events", "a") as f:
            f.write(word + "\\n")

    class Relay(SMTP):
        def connection_made(self, transport):
            note("tls" if self._original_transport is not None else "connect")
            super().connection_made(transport)

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            n = len(list(out.glob("*.eml")))
            (out / f"{n}.part").write_bytes(envelope.content)
            (out / f"{n}.part").rename(out / f"{n}.eml")
            return "250 kept"

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    make = lambda: Relay(Keep(), tls_context=tls, require_starttls=True, hostname="relay")
    loop.run_until_complete(loop.create_server(make, "0.0.0.0", port))
    print("ready", flush=True)
    loop.run_forever()
    """
)

# A small HTTP client run inside the appliance namespace (Alertmanager is on its loopback).
HTTP = textwrap.dedent(
    """
    import sys, urllib.request
    url, body = sys.argv[1], sys.argv[2].encode() if len(sys.argv) > 2 else None
    headers = {"Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=2) as r:
            sys.stdout.write(r.read().decode())
    except OSError as exc:
        sys.exit(f"http: {exc}")
    """
)


@dataclass(frozen=True)
class Site:
    hosts: Hosts
    tmp: Path
    ca: Path  # the CA that signed the relay's certificate
    other_ca: Path  # a CA that did not
    mail: Path  # the relay's folder: events, N.eml


def _issue(subject: str, key: Key, issuer: str, issuer_key: Key) -> bytes:
    """A PEM certificate: a CA's own when subject == issuer, else a server's for subject."""
    now = datetime.datetime.now(datetime.UTC)
    ca = subject == issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        san = x509.SubjectAlternativeName([x509.DNSName(subject)])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _certificates(tmp: Path) -> tuple[Path, Path, Path, Path]:
    """A CA, the relay's certificate and key (for RELAY_NAME), and an unrelated CA."""
    ca, cert, key, other = (tmp / n for n in ("ca.pem", "relay.pem", "relay.key", "other-ca.pem"))
    ca_key, relay_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca.write_bytes(_issue("clinic test CA", ca_key, "clinic test CA", ca_key))
    cert.write_bytes(_issue(RELAY_NAME, relay_key, "clinic test CA", ca_key))
    pkcs8 = serialization.PrivateFormat.PKCS8
    encoding, none = serialization.Encoding.PEM, serialization.NoEncryption()
    key.write_bytes(relay_key.private_bytes(encoding, pkcs8, none))
    other.write_bytes(_issue("another CA", other_key, "another CA", other_key))
    return ca, cert, key, other


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    assert ALERTMANAGER is not None, MISSING
    before = host_tables()
    tmp = tmp_path_factory.mktemp("alertmail")
    hosts = hosts_named(f"am{os.getpid()}", tmp)
    ca, cert, key, other_ca = _certificates(tmp)
    mail = tmp / "mail"
    mail.mkdir()
    relay: subprocess.Popen[str] | None = None
    try:
        build(hosts, tmp)
        argv = [sys.executable, "-c", RELAY_SCRIPT, str(cert), str(key), str(PORT), str(mail)]
        with (tmp / "relay.log").open("w") as log:  # a refused handshake logs a traceback
            relay = subprocess.Popen(
                ["ip", "netns", "exec", hosts.pbx, *argv],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert relay.stdout is not None and relay.stdout.readline().strip() == "ready"
        yield Site(hosts, tmp, ca, other_ca, mail)
    finally:
        if relay is not None:
            relay.kill()
            relay.wait()
        teardown(hosts)
    assert host_tables() == before, "a ruleset leaked into the host's network namespace"


def _http(site: Site, path: str, body: object = None) -> str:
    argv = [sys.executable, "-c", HTTP, f"http://127.0.0.1:9093{path}"]
    result = run_in(site.hosts.appl, *argv, *([json.dumps(body)] if body is not None else []))
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait(what: str, check: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        time.sleep(0.2)


def _config(site: Site, ca: Path) -> Path:
    """alertmanager.yml as the monitoring role renders it for this site."""
    text = render_template(
        "monitoring",
        "alertmanager.yml.j2",
        appliance_smtp_relay_host=RELAY,
        appliance_smtp_relay_port=PORT,
        monitoring_alert_email="oncall@clinic.test",
        monitoring_smtp_ca_file=str(ca),
        monitoring_smtp_tls_server_name=RELAY_NAME,
        monitoring_alert_group_wait="1s",
    )
    path = site.tmp / f"alertmanager-{ca.stem}.yml"
    path.write_text(text)
    return path


def _arguments() -> list[str]:
    """ARGS of /etc/default/prometheus-alertmanager as the role renders it."""
    text = render_template("monitoring", "prometheus-alertmanager.j2")
    match = re.search(r'^ARGS="(.*)"$', text, re.MULTILINE)
    assert match, text
    return shlex.split(match.group(1))


@contextmanager
def _alertmanager(site: Site, ca: Path, log: Path) -> Iterator[None]:
    storage = site.tmp / f"data-{log.stem}"
    argv = [str(ALERTMANAGER), f"--config.file={_config(site, ca)}", f"--storage.path={storage}"]
    with log.open("w") as out:
        process = subprocess.Popen(
            ["ip", "netns", "exec", site.hosts.appl, *argv, *_arguments()],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait("Alertmanager ready", lambda: _ready(site, process), 15)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _ready(site: Site, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, "Alertmanager exited"
    argv = [sys.executable, "-c", HTTP, "http://127.0.0.1:9093/-/ready"]
    return run_in(site.hosts.appl, *argv).returncode == 0


def _alert(site: Site, name: str) -> None:
    labels = {"alertname": name, "severity": "page"}
    _http(site, "/api/v2/alerts", [{"labels": labels, "annotations": {"summary": "a test"}}])


def _connecting_to_relay(site: Site) -> bool:
    """A TCP connection to the relay stuck in SYN-SENT: its SYNs go nowhere."""
    argv = ["ss", "-Htn", "state", "syn-sent", "dst", f"{RELAY}:{PORT}"]
    return bool(run_in(site.hosts.appl, *argv).stdout.strip())


def _messages(site: Site) -> list[str]:
    return [p.read_text(errors="replace") for p in sorted(site.mail.glob("*.eml"))]


def _events(site: Site) -> list[str]:
    events = site.mail / "events"
    return events.read_text().split() if events.exists() else []


def test_an_alert_reaches_the_relay_over_verified_tls(site: Site) -> None:
    load(site.hosts, site.tmp, WITH_RELAY)
    before = len(_messages(site))
    with _alertmanager(site, site.ca, site.tmp / "delivered.log"):
        started = time.monotonic()
        _alert(site, "ApplianceMailDelivered")
        _wait("mail at the relay", lambda: len(_messages(site)) > before, 20)
        took = time.monotonic() - started
    print(f"alert to mail at the relay: {took:.1f} s")
    [message] = _messages(site)[before:]
    assert "ApplianceMailDelivered" in message
    assert re.search(r"^To: oncall@clinic\.test", message, re.MULTILINE | re.IGNORECASE)
    assert "tls" in _events(site)  # the relay takes MAIL only after STARTTLS
    assert inet_packets(site.hosts) == 0


def test_without_the_relay_rule_nothing_leaves(site: Site) -> None:
    load(site.hosts, site.tmp, WITHOUT_RELAY)
    events, messages, drops = (
        len(_events(site)),
        len(_messages(site)),
        dropped(site.hosts.appl, "output"),
    )
    with _alertmanager(site, site.ca, site.tmp / "blocked.log"):
        _alert(site, "ApplianceMailBlocked")
        _wait("Alertmanager tries the relay", lambda: _connecting_to_relay(site), 15)
        _wait("the firewall dropped it", lambda: dropped(site.hosts.appl, "output") > drops, 10)
        time.sleep(3)  # time enough for a delivery that got through
        assert len(_events(site)) == events  # not even a connection reached the relay
        assert len(_messages(site)) == messages
    assert not any("ApplianceMailBlocked" in m for m in _messages(site))


def test_a_relay_whose_certificate_does_not_verify_gets_nothing(site: Site) -> None:
    load(site.hosts, site.tmp, WITH_RELAY)
    log = site.tmp / "untrusted.log"
    messages = len(_messages(site))
    with _alertmanager(site, site.other_ca, log):
        _alert(site, "ApplianceMailUntrusted")
        _wait("Alertmanager refused the relay", lambda: "x509" in log.read_text(), 15)
    assert "connect" in _events(site)
    assert len(_messages(site)) == messages
    assert "certificate signed by unknown authority" in log.read_text()


def test_verify_isolation_counts_the_relay_as_a_flow_not_a_leak(site: Site) -> None:
    load(site.hosts, site.tmp, WITH_RELAY)
    site.hosts.settings.write_text(
        textwrap.dedent(
            f"""
            [firewall]
            pbx = ["198.18.0.2"]
            smtp = ["{RELAY}"]
            smtp_port = {PORT}

            [probes]
            tcp = ["{RELAY}:{PORT}", "198.18.0.2:{PORT}", "198.19.255.1:{PORT}"]
            icmp = ["198.19.255.1"]
            listening = []
            timeout_s = 0.5
            """
        )
    )
    report = site.tmp / "report.json"
    with _alertmanager(site, site.ca, site.tmp / "verify.log"):
        result = run_in(
            site.hosts.appl,
            *[sys.executable, "-m", "appliance", "verify-isolation"],
            *["--settings", str(site.hosts.settings), "--units-dir", str(UNITS_DIR)],
            *["--json", str(report)],
        )
    text = result.stdout + result.stderr
    print(text)
    assert result.returncode == 0, text
    assert f"allowed (the SMTP relay for alert mail ([firewall] smtp)), reached tcp {RELAY}" in text
    assert f"blocked tcp 198.18.0.2:{PORT}" in text  # the same port elsewhere stays shut
    assert json.loads(report.read_text())["passed"] is True
    assert inet_packets(site.hosts) == 0

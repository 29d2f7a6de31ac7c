"""The edge as a TLS client verifies the PBX's certificate by default (real Kamailio).

An agent worker's call to `sip:...;transport=tls` leaves the edge over TLS (the consultation
call of an attended transfer). A Python TLS server with a self-signed certificate stands in
for the PBX: by default (no ca_file, the system's CAs) the edge refuses it and sends it
nothing; with that certificate as `ca_file` the INVITE arrives; `verify = false` (lab only)
lets it through and says so at every start, with the code sip-tls-unverified.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from pathlib import Path

import msgspec
import pytest

from appliance.config import SipTls, load_settings
from tests.conftest import free_port
from tests.integration.test_sip_edge_policy import replies, request, status, udp
from tests.integration.test_sip_tls import make_cert, tls_edge

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


class FakePbx:
    """Accepts TLS connections on 127.0.0.1; records what each handshake gave."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        cert, key = make_cert(folder)
        self.cert = cert
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.received: list[bytes] = []
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except TimeoutError:
                continue
            raw.settimeout(3.0)
            try:
                with self.context.wrap_socket(raw, server_side=True) as tls:
                    self.received.append(tls.recv(65535))
            except (ssl.SSLError, OSError) as exc:
                self.failed.append(type(exc).__name__)
                raw.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


async def call_out(tmp_path: Path, **tls: object) -> tuple[FakePbx, list[int]]:
    """The worker's INVITE to the fake PBX over TLS through an edge with `tls` settings;
    returns the PBX and the statuses the worker got back."""
    pbx = FakePbx(tmp_path / "pbx")
    (tmp_path / "edge").mkdir()
    cert, key = make_cert(tmp_path / "edge")
    worker_port = free_port()
    settings = load_settings()
    sip = msgspec.structs.replace(
        settings.sip,
        host="127.0.0.1",
        port=free_port(),
        workers=1,
        worker_port=worker_port,
        tls=SipTls(cert_file=str(cert), key_file=str(key), port=free_port(), **tls),  # type: ignore[arg-type]
    )
    try:
        with udp("127.0.0.1", worker_port) as worker:
            async with tls_edge(msgspec.structs.replace(settings, sip=sip)):
                invite = request(
                    worker, "INVITE", f"sip:desk@127.0.0.1:{pbx.port};transport=tls",
                    to_tag=False, route=f"<sip:127.0.0.1:{sip.port};lr>",
                )  # fmt: skip
                await asyncio.to_thread(worker.sendto, invite, ("127.0.0.1", sip.port))
                got = await asyncio.to_thread(replies, worker, 3.0)
    finally:
        pbx.close()
    return pbx, status(got)


async def test_by_default_a_pbx_certificate_no_ca_vouches_for_is_refused(
    tmp_path: Path,
) -> None:
    pbx, statuses = await call_out(tmp_path)
    assert pbx.received == [], pbx.received
    assert pbx.failed  # the edge hung up in the handshake
    assert 200 not in statuses


async def test_the_pbx_certificate_verifies_against_ca_file(tmp_path: Path) -> None:
    pbx_cert = tmp_path / "pbx" / "sip.crt"  # made by FakePbx, as the site's CA list
    pbx, _ = await call_out(tmp_path, ca_file=str(pbx_cert))
    assert pbx.received and pbx.received[0].startswith(b"INVITE sip:desk@")


async def test_verification_off_is_a_loud_lab_opt_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="appliance.edge.tls"):
        pbx, _ = await call_out(tmp_path, verify=False)
    assert pbx.received and pbx.received[0].startswith(b"INVITE sip:desk@")
    codes = [getattr(r, "code", None) for r in caplog.records]
    assert codes.count("sip-tls-unverified") == 1

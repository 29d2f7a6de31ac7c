"""SIP over TLS at the Kamailio edge, SRTP on the media, seen on the wire.

A pjsua2 caller (tls_caller.py, standing in for the PBX) calls through the edge over
TLS 1.2 with SRTP and plays a recorded prompt as PCMU; an agent worker
(PjsipTelephony, SRTP mandatory) answers on loopback behind the edge. tcpdump captures
loopback traffic on this test's ports only (the TLS port and both RTP ranges) while the
call runs; the capture must hold no cleartext SIP on the TLS port and no RTP payload
matching the prompt. The same check on a call with SRTP off does find the prompt, so the
check can see cleartext audio when there is some.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from appliance.audio import ulaw_encode
from appliance.config import Settings, SipTls, load_settings
from appliance.edge.kamailio import SipEdge, options_ping
from appliance.edge.tls import check_tls_files
from appliance.errors import ConfigError
from appliance.ports import CallHandle
from appliance.sip import PjsipTelephony
from tests.conftest import SOUNDS, free_port, free_ports
from tests.integration.pcap import read_pcap

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CALLER = Path(__file__).with_name("tls_caller.py")
PROMPT = SOUNDS / "all-circuits-busy-now.wav"  # 1.8 s, 8 kHz s16 mono
WINDOW = 16  # bytes of consecutive PCMU payload that count as "the prompt in clear"
CALL_S = 2.5  # s the caller stays on after media starts


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed RSA-2048 certificate for 127.0.0.1 / localhost, key mode 0600."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "sip.crt", directory / "sip.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return cert_file, key_file


def prompt_ulaw() -> bytes:
    with wave.open(str(PROMPT)) as wav:
        assert wav.getframerate() == 8000 and wav.getsampwidth() == 2
        return ulaw_encode(wav.readframes(wav.getnframes()))


@dataclass(frozen=True, slots=True)
class Ports:
    sip: int  # plain UDP/TCP on the edge
    tls: int
    worker: int
    worker_rtp: int  # 10 ports from here
    caller_rtp: int  # 10 ports from here
    caller_tls: int  # the caller's own TLS listener (in-dialog requests from the edge)


def tls_settings(ports: Ports, cert: Path, key: Path, srtp: str) -> Settings:
    settings = load_settings()
    sip = msgspec.structs.replace(
        settings.sip,
        host="127.0.0.1",
        port=ports.sip,
        workers=1,
        worker_port=ports.worker,
        rtp_port=ports.worker_rtp,
        rtp_port_range=10,
        codecs=["PCMU/8000"],
        srtp=srtp,
        # the PBX stand-in's certificate is the edge's own (self-signed): the CA to verify it
        tls=SipTls(cert_file=str(cert), key_file=str(key), port=ports.tls, ca_file=str(cert)),
    )
    return msgspec.structs.replace(settings, sip=sip)


@asynccontextmanager
async def tls_edge(settings: Settings) -> AsyncIterator[SipEdge]:
    run_dir = Path(tempfile.mkdtemp(prefix="edge-tls-"))  # short: it holds a unix socket
    edge = SipEdge(settings, run_dir, run_dir / "edge.log")
    await edge.start()
    try:
        # Kamailio's TLS start loads the CA list in each process: with the system's
        # (~140 CAs) that took 10-20 s of CPU on a loaded 2-core machine
        deadline = time.monotonic() + 90
        while not await options_ping("127.0.0.1", settings.sip.port, 1.0):
            if time.monotonic() > deadline:
                raise AssertionError("the edge does not answer OPTIONS in 90 s")
            await asyncio.sleep(0.5)  # paced: no flood from the host
        yield edge
    finally:
        await edge.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


@asynccontextmanager
async def capture(pcap: Path, ports: Ports) -> AsyncIterator[None]:
    """tcpdump on lo, only this test's TLS port and RTP ranges."""
    rtp = [ports.worker_rtp, ports.caller_rtp]
    expr = f"tcp port {ports.tls} or tcp port {ports.caller_tls} or "
    expr += " or ".join(f"udp portrange {p}-{p + 11}" for p in rtp)
    proc = await asyncio.create_subprocess_exec(
        *["tcpdump", "-i", "lo", "-n", "-U", "-s", "0", "-w", str(pcap), expr],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = await asyncio.wait_for(proc.stderr.readline(), 10)  # "listening on lo ..."
    assert b"listening" in line, line
    try:
        yield
    finally:
        await asyncio.sleep(0.3)  # the last packets
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def call_through_edge(
    ports: Ports,
    cert: Path,
    srtp: str,
    agent_hangs_up: bool = False,
    caller_srtp: str | None = None,
) -> tuple[dict[str, dict[str, Any]], bytes]:
    """One call from the TLS caller to a worker behind the edge; returns the caller's
    events by name and the audio the worker heard (16 kHz s16). The caller hangs up
    after CALL_S s, or with `agent_hangs_up` the worker does (its BYE reaches the caller
    through the edge, over TLS)."""
    heard = bytearray()
    done = asyncio.Event()

    async def collect(call: CallHandle) -> None:
        async for chunk in call.frames():
            heard.extend(chunk.pcm)

    async def listen(call: CallHandle) -> None:
        try:
            await asyncio.wait_for(collect(call), CALL_S if agent_hangs_up else None)
        except TimeoutError:
            await call.hangup()
        done.set()

    settings = tls_settings(ports, cert, cert.with_suffix(".key"), srtp)
    worker_sip = msgspec.structs.replace(
        settings.sip, port=ports.worker, transports=["udp"], workers=1
    )
    worker = PjsipTelephony(worker_sip, user_agent="pytest-worker")
    await worker.start(listen)
    try:
        async with tls_edge(settings):
            argv = [sys.executable, str(CALLER), "--ca", str(cert), "--wav", str(PROMPT)]
            argv += ["--uri", f"sip:clinic@127.0.0.1:{ports.tls};transport=tls"]
            argv += ["--rtp-port", str(ports.caller_rtp), "--srtp", caller_srtp or srtp]
            argv += ["--seconds", "0" if agent_hangs_up else str(CALL_S)]
            argv += ["--listen-port", str(ports.caller_tls), "--key", str(cert.with_suffix(".key"))]
            env = {**os.environ, "PYTHONPATH": str(CALLER.parents[2])}
            out = await asyncio.to_thread(
                subprocess.run, argv, capture_output=True, text=True, timeout=40, env=env
            )
            assert out.returncode == 0, out.stderr[-2000:]
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            events = {e["event"]: e for e in map(json.loads, lines)}
            if events["ended"]["connected"]:
                await asyncio.wait_for(done.wait(), 10)
    finally:
        await worker.stop()
    return events, bytes(heard)


def new_ports() -> Ports:
    rtp = free_ports(24)
    rtp += rtp % 2  # RTP on even ports
    return Ports(free_port(), free_port(), free_port(), rtp, rtp + 12, free_port())


def loud_seconds(pcm: bytes) -> float:
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64).reshape(-1, 320)
    return float((np.sqrt((x * x).mean(axis=1)) > 300).sum() * 0.02)


def windows(data: bytes, distinct: int = 1) -> set[bytes]:
    """Every WINDOW-byte run of `data` with at least `distinct` different byte values."""
    runs = (data[i : i + WINDOW] for i in range(len(data) - WINDOW + 1))
    return {run for run in runs if len(set(run)) >= distinct}


def speech_windows() -> set[bytes]:
    """The prompt's PCMU runs that are speech, not near-silence (which any call has)."""
    return windows(prompt_ulaw(), distinct=8)


def clear_audio(rtp_payloads: list[bytes], reference: set[bytes]) -> int:
    """How many RTP payloads hold WINDOW consecutive bytes of the reference PCMU."""
    return sum(1 for p in rtp_payloads if windows(p) & reference)


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    cert_file, _ = make_cert(tmp_path)
    return cert_file


async def test_tls_srtp_call_shows_no_cleartext_sip_or_audio(cert: Path, tmp_path: Path) -> None:
    ports = new_ports()
    pcap = tmp_path / "call.pcap"
    async with capture(pcap, ports):
        events, heard = await call_through_edge(ports, cert, "mandatory", agent_hangs_up=True)
    assert events["ended"]["connected"] and events["media"]["srtp"]
    assert events["media"]["codec"] == "PCMU"
    assert events["ended"]["remote"]  # the agent's BYE reached the PBX side over TLS
    assert loud_seconds(heard) > 1.0  # the worker decrypted and heard the prompt
    packets = read_pcap(pcap.read_bytes())
    tls = b"".join(p.payload for p in packets if p.tcp)  # both TLS connections
    rtp = [p.payload[12:] for p in packets if p.udp and len(p.payload) > 12]
    assert len(tls) > 2000 and tls[:1] == b"\x16"  # a TLS handshake, then records
    assert b"INVITE sip:" not in tls and b"SIP/2.0" not in tls and b"a=crypto" not in tls
    assert len(rtp) > 100  # media flowed both ways while captured
    assert clear_audio(rtp, speech_windows()) == 0


async def test_the_capture_check_finds_cleartext_audio_without_srtp(
    cert: Path, tmp_path: Path
) -> None:
    ports = new_ports()
    pcap = tmp_path / "plain.pcap"
    async with capture(pcap, ports):
        events, _ = await call_through_edge(ports, cert, "off")
    assert events["ended"]["connected"] and not events["ended"]["remote"]
    assert not events["media"]["srtp"]
    packets = read_pcap(pcap.read_bytes())
    rtp = [p.payload[12:] for p in packets if p.udp and len(p.payload) > 12]
    assert clear_audio(rtp, speech_windows()) > 30  # the prompt, frame after frame


async def test_srtp_modes_against_a_pbx_without_srtp(cert: Path) -> None:
    """optional: the call goes on with plain RTP; mandatory: it is refused (488)."""
    events, heard = await call_through_edge(new_ports(), cert, "optional", caller_srtp="off")
    assert events["ended"]["connected"] and not events["media"]["srtp"]
    assert loud_seconds(heard) > 1.0
    events, _ = await call_through_edge(new_ports(), cert, "mandatory", caller_srtp="off")
    assert not events["ended"]["connected"] and "media" not in events
    assert events["ended"]["status"] == 488


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1:DeprecationWarning")
async def test_tls_1_1_is_refused_and_tls_1_2_accepted(cert: Path) -> None:
    ports = new_ports()
    async with tls_edge(tls_settings(ports, cert, cert.with_suffix(".key"), "off")):

        def handshake(version: ssl.TLSVersion) -> str:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(cert)
            ctx.load_cert_chain(cert, cert.with_suffix(".key"))  # the edge asks the PBX for one
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            ctx.minimum_version = ctx.maximum_version = version
            with (
                socket.create_connection(("127.0.0.1", ports.tls), timeout=5) as raw,
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                return str(tls.version())

        assert await asyncio.to_thread(handshake, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        with pytest.raises(ssl.SSLError):
            await asyncio.to_thread(handshake, ssl.TLSVersion.TLSv1_1)


def test_bad_certificate_files_are_coded_config_errors(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key = make_cert(other)
    cases = {
        "sip-tls-file-missing": SipTls(cert_file=str(tmp_path / "nope.crt"), key_file=str(key)),
        "sip-tls-cert-invalid": SipTls(cert_file=str(cert), key_file=str(other_key)),
    }
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate\n")
    cases["sip-tls-cert-invalid "] = SipTls(cert_file=str(garbage), key_file=str(key))
    for code, tls in cases.items():
        with pytest.raises(ConfigError) as err:
            check_tls_files(tls)
        assert err.value.code == code.strip()
        assert "PRIVATE KEY" not in str(err.value)
    key.chmod(0o644)
    with pytest.raises(ConfigError) as err:
        check_tls_files(SipTls(cert_file=str(cert), key_file=str(key)))
    assert err.value.code == "sip-tls-key-permissions"
    key.chmod(0o600)
    assert check_tls_files(SipTls(cert_file=str(cert), key_file=str(key)))[0] == cert


def test_tls_is_off_by_default_and_plain_sip_stays() -> None:
    from appliance.edge.kamailio import render

    settings = load_settings()
    config = render(settings, Path("/tmp/d.list"), Path("/tmp/r.sock"))
    assert "enable_tls" not in config and 'loadmodule "tls.so"' not in config
    assert f"listen=udp:127.0.0.1:{settings.sip.port}" in config
    assert f"listen=tcp:127.0.0.1:{settings.sip.port}" in config

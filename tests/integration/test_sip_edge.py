"""The Kamailio SIP edge on its own, with SIPp standing in for the agent workers.

Capacity (every worker full -> the configured 486 or 503 + Retry-After), drain (new
INVITEs refused while calls in progress finish through the edge) and the source ACL
(127.0.0.1 allowed, 127.0.0.2 refused or ignored). Both addresses are loopback on Linux.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from appliance.config import load_settings
from appliance.edge.kamailio import SipEdge, options_ping
from tests.conftest import free_port, free_ports

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SCENARIOS = Path(__file__).parents[1] / "e2e" / "sipp"


@contextmanager
def sipp_workers(*scenarios: str) -> Iterator[int]:
    """One SIPp UAS per scenario, on consecutive ports (the first is yielded)."""
    base = free_ports(len(scenarios))
    procs = []
    for i, scenario in enumerate(scenarios):
        source = ["-sn", "uas"] if scenario == "uas" else ["-sf", str(SCENARIOS / scenario)]
        argv = ["sipp", "-nostdin", "-i", "127.0.0.1", "-p", str(base + i)]
        argv += ["-mp", str(free_port()), *source, "-aa"]  # -aa: 200 to OPTIONS probes
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield base
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


@asynccontextmanager
async def edge(workers: int, worker_port: int, **sip: Any) -> AsyncIterator[SipEdge]:
    settings = load_settings()
    settings = msgspec.structs.replace(
        settings,
        sip=msgspec.structs.replace(
            settings.sip, port=free_port(), workers=workers, worker_port=worker_port, **sip
        ),
    )
    run_dir = Path(tempfile.mkdtemp(prefix="edge-"))  # short: it holds a unix socket
    sip_edge = SipEdge(settings, run_dir, run_dir / "edge.log")
    await sip_edge.start()
    try:
        for _ in range(50):
            if await options_ping("127.0.0.1", settings.sip.port, 0.2):
                break
        else:
            raise AssertionError("the edge does not answer OPTIONS")
        yield sip_edge
    finally:
        await sip_edge.stop()
        log = (run_dir / "edge.log").read_text(errors="replace")
        shutil.rmtree(run_dir, ignore_errors=True)
    assert "m=audio" not in log and "v=0" not in log  # no message bodies in the log


def sipp(port: int, *args: str, source: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    cmd = ["sipp", f"127.0.0.1:{port}", "-nostdin", "-i", source, "-p", str(free_port())]
    cmd += ["-mp", str(free_port()), "-m", "1", "-timeout", "15s", "-timeout_error", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=25)


def rejected(port: int, code: int, retry_after: bool, source: str = "127.0.0.1") -> None:
    """A SIPp call that must end with `code` (and a Retry-After header if asked)."""
    scenario = Path(tempfile.mkdtemp(prefix="sipp-")) / "uac_rejected.xml"
    text = (SCENARIOS / "uac_rejected.xml").read_text().replace("__CODE__", str(code))
    scenario.write_text(text.replace("__RETRY__", "true" if retry_after else "false"))
    started = time.monotonic()
    out = sipp(port, "-sf", str(scenario), source=source)
    shutil.rmtree(scenario.parent, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert time.monotonic() - started < 10  # answered, never left hanging


def completed(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


@pytest.mark.parametrize(("full_reply", "retry_after"), [(486, False), (503, True)])
async def test_every_worker_full_gets_the_configured_rejection(
    full_reply: int, retry_after: bool
) -> None:
    with sipp_workers("uas_busy.xml", "uas_busy.xml") as base:
        async with edge(2, base, full_reply=full_reply, retry_after_s=7) as e:
            port = e.port
            await asyncio.to_thread(rejected, port, full_reply, retry_after)
            # the first worker's 486 passed on to the second, counted; the second's, the
            # last, makes the call one the edge refused: every worker busy (counted once)
            assert e.refusals() == {("486", "passed-on"): 1, (str(full_reply), "all-busy"): 1}


async def test_a_free_worker_takes_the_call_after_a_full_one() -> None:
    with sipp_workers("uas_busy.xml", "uas") as base:
        async with edge(2, base, full_reply=503) as e:
            for _ in range(2):  # round robin: one of the two calls tries the busy one first
                completed(await asyncio.to_thread(sipp, e.port, "-sn", "uac", "-d", "200"))
            passed_on = e.refusals() or {}
            assert set(passed_on) == {("486", "passed-on")}  # the busy one's 486, passed on
            assert passed_on[("486", "passed-on")] in (1, 2)


async def test_drain_refuses_new_calls_and_lets_calls_in_progress_finish() -> None:
    with sipp_workers("uas") as base:
        async with edge(1, base, retry_after_s=11) as e:
            port = e.port
            first = asyncio.create_task(asyncio.to_thread(sipp, port, "-sn", "uac", "-d", "3000"))
            await asyncio.sleep(1.0)
            assert await e.drain()
            await asyncio.to_thread(rejected, port, 503, True)
            completed(await first)  # its BYE still went through the draining edge
            assert await options_ping("127.0.0.1", port)


async def test_source_acl_refuses_other_addresses_with_403() -> None:
    with sipp_workers("uas") as base:
        async with edge(1, base, allowed_sources=["127.0.0.1/32"], acl_reply=403) as e:
            port = e.port
            await asyncio.to_thread(rejected, port, 403, False, "127.0.0.2")
            completed(await asyncio.to_thread(sipp, port, "-sn", "uac", "-d", "200"))


def raw_invite(port: int, source: str, wait_s: float) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(wait_s)
        local = sock.getsockname()[1]
        sock.sendto(
            (
                f"INVITE sip:clinic@127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {source}:{local};branch=z9hG4bKacl1;rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:pbx@{source}>;tag=acl1\r\n"
                f"To: <sip:clinic@127.0.0.1:{port}>\r\n"
                "Call-ID: acl-test-1\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:pbx@{source}:{local}>\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", port),
        )
        try:
            return sock.recv(4096)
        except TimeoutError:
            return None


async def test_source_acl_can_ignore_other_addresses() -> None:
    with sipp_workers("uas") as base:
        async with edge(1, base, allowed_sources=["127.0.0.0/30"], acl_reply=0) as e:
            port = e.port
            assert await asyncio.to_thread(raw_invite, port, "127.0.0.9", 1.5) is None
            reply = await asyncio.to_thread(raw_invite, port, "127.0.0.2", 3.0)
            assert reply is not None and not reply.startswith(b"SIP/2.0 403")

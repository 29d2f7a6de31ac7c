"""Hostile SIP against the Kamailio edge with a real pjsua2 worker behind it.

Bounded and over loopback only: a few hundred garbage datagrams and malformed messages
(to the edge and to the worker directly), then an INVITE flood of 100/s for 10 s from
127.0.0.2 (the edge's per-source flood limit). Everything stays up, a legitimate call
from 127.0.0.1 works during and after, and no log line carries a message body.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from appliance.edge.kamailio import SipEdge, options_ping
from appliance.ports import CallHandle
from appliance.sip import PjsipTelephony
from tests.conftest import free_port
from tests.integration.test_sip_edge import completed, edge, sipp
from tests.integration.test_telephony import running, sip_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

MARK = "BODYMARK-7f3a"  # in every body we send: it must never reach a log


def invite(port: int, *, headers: str = "", body: str = "", length: str | None = None) -> bytes:
    size = str(len(body.encode())) if length is None else length
    return (
        f"INVITE sip:clinic@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{random.randrange(10**9)};rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=h1\r\nTo: <sip:clinic@127.0.0.1>\r\n"
        f"Call-ID: hostile-{random.randrange(10**9)}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:x@127.0.0.1:9>\r\n{headers}Content-Length: {size}\r\n\r\n{body}"
    ).encode()


def sdp(port: str) -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns={MARK}\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )


def answered(port: int) -> list[bytes]:
    """Hostile INVITEs that a worker answers: each holds one of its 4 call slots until the
    ACK that never comes times out (32 s).

    pjsip takes a UDP INVITE whose Content-Length is past the end of the datagram, and reads
    only the first 4000 bytes of a datagram (the 8 KB one arrives as an INVITE without
    its offer). The edge drops the first (sanity check) and refuses the second (513,
    tests/integration/test_sip_edge_big.py).
    """
    ct = "Content-Type: application/sdp\r\n"
    return [
        invite(port, headers=ct, body=sdp("4000"), length="99999999"),  # huge Content-Length
        invite(port, headers=ct + "X-Long: " + "a" * 8000 + "\r\n", body=sdp("4000")),
    ]


def malformed(port: int, *, with_answered: bool = True) -> list[bytes]:
    rng = random.Random(3)
    ct = "Content-Type: application/sdp\r\n"
    good = invite(port, headers=ct, body=sdp("4000"))
    messages = [
        good[:60],  # truncated datagram
        good[: len(good) // 2],
        *(answered(port) if with_answered else []),
        invite(port, headers=ct, body=sdp("4000"), length="-5"),
        invite(port, headers=ct, body=sdp("99999")),  # bad SDP: port out of range
        invite(port, headers=ct, body=sdp("abc") + "m=video\r\n"),
        invite(port, headers=ct + "CSeq: abc INVITE\r\nFrom: <<<>>>\r\n", body=sdp("4000")),
        invite(port, headers="Via: \x00\xff garbage\r\n" + ct, body=sdp("4000")),
        good.replace(b"INVITE sip:", b"FROBNICATE sip:", 1),  # unknown method
        good.replace(b"Call-ID:", b"X-Gone:", 1),
        good.replace(b"SIP/2.0\r\n", b"SIP/9.9\r\n", 1),
        f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n\r\n{MARK}".encode(),
        f"SIP/2.0 200 OK\r\nContent-Length: 13\r\n\r\n{MARK}".encode(),  # stray response
    ]
    messages += [rng.randbytes(rng.randrange(1, 1400)) for _ in range(300)]
    messages += [good[: rng.randrange(1, len(good))] for _ in range(50)]
    return messages


def blast(port: int, messages: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for message in messages:
            sock.sendto(message, ("127.0.0.1", port))


async def hold(call: CallHandle) -> None:
    async for _ in call.frames():
        pass


@asynccontextmanager
async def edge_and_worker() -> AsyncIterator[tuple[SipEdge, PjsipTelephony]]:
    port = free_port()
    sip = sip_settings(codecs=["PCMU/8000"], port=port)
    async with running(sip, hold) as worker, edge(1, port) as sip_edge:
        yield sip_edge, worker


def edge_log(sip_edge: SipEdge) -> str:
    return (sip_edge.rpc_socket.parent / "edge.log").read_text(errors="replace")


async def assert_alive(sip_edge: SipEdge, worker: PjsipTelephony) -> None:
    assert sip_edge.running() and worker.listening
    assert await options_ping("127.0.0.1", sip_edge.port)
    assert await options_ping("127.0.0.1", worker.sip_port)


async def test_malformed_sip_leaves_edge_and_worker_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with edge_and_worker() as (sip_edge, worker):
        await asyncio.to_thread(blast, sip_edge.port, malformed(sip_edge.port))
        # to the worker directly, all but the two it answers: with them it would hold 3 of
        # its 4 call slots for 32 s, and the legitimate call below would have no margin
        direct = malformed(worker.sip_port, with_answered=False)
        await asyncio.to_thread(blast, worker.sip_port, direct)
        # a well-formed request with an unknown method: 405, logged. Sent once the edge
        # answers again (on a loaded machine its socket buffer may still hold the blast and
        # drop one more datagram), and again until the refusal is logged
        await assert_alive(sip_edge, worker)
        await unknown_method_is_refused(sip_edge)
        await assert_alive(sip_edge, worker)
        await legitimate_call(sip_edge)
        await asyncio.to_thread(blast, worker.sip_port, answered(worker.sip_port))
        await assert_alive(sip_edge, worker)
        log = edge_log(sip_edge)
    assert MARK not in log and "m=audio" not in log
    assert MARK not in caplog.text
    # each kind of rejection is logged (without the message): unparsable, failing the
    # sanity checks, unknown method
    assert log.count("core parsing of SIP message failed") >= 100
    assert "sanity" in log
    assert "refused: 405 method not allowed" in log


async def unknown_method_is_refused(sip_edge: SipEdge, within: float = 20.0) -> None:
    """A FROBNICATE to the edge is refused with 405 and logged (resent once a second)."""
    unknown = invite(sip_edge.port).replace(b"INVITE", b"FROBNICATE")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while "refused: 405 method not allowed" not in edge_log(sip_edge):
        assert loop.time() < deadline, "the edge logged no 405 for an unknown method"
        await asyncio.to_thread(blast, sip_edge.port, [unknown])
        await asyncio.sleep(1.0)


async def legitimate_call(sip_edge: SipEdge) -> None:
    """A SIPp call through the edge completes (with the edge's log tail when it does not)."""
    out = await asyncio.to_thread(sipp, sip_edge.port, "-sn", "uac", "-d", "200")
    if out.returncode != 0:
        tail = "\n".join(edge_log(sip_edge).splitlines()[-30:])
        raise AssertionError(f"{out.stdout[-2500:]}{out.stderr[-1500:]}\nedge log:\n{tail}")


def flood(port: int) -> subprocess.CompletedProcess[str]:
    """SIPp's uac from 127.0.0.2: 100 new INVITEs a second for 10 s."""
    cmd = ["sipp", f"127.0.0.1:{port}", "-sn", "uac", "-nostdin", "-i", "127.0.0.2"]
    cmd += ["-p", str(free_port()), "-mp", str(free_port()), "-r", "100", "-m", "1000"]
    cmd += ["-l", "1000", "-timeout", "11s", "-max_retrans", "1"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


async def test_an_invite_flood_is_cut_off_and_a_legitimate_call_still_works() -> None:
    async with edge_and_worker() as (sip_edge, worker):
        flooding = asyncio.create_task(asyncio.to_thread(flood, sip_edge.port))
        await asyncio.sleep(3.0)
        during = await asyncio.to_thread(sipp, sip_edge.port, "-sn", "uac", "-d", "200")
        assert not flooding.done()
        completed(during)
        await flooding
        await assert_alive(sip_edge, worker)
        await legitimate_call(sip_edge)
        log = edge_log(sip_edge)
    assert "flood from 127.0.0.2" in log
    assert "flood from 127.0.0.1" not in log

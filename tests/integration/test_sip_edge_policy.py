"""The edge's policy for every request, in-dialog ones too, against real Kamailio: the
source ACL, no relay to a third party, per-source flood limits (the PBX's higher), and
SDES-SRTP keys only over TLS. A UDP socket stands in for the agent worker and another for
a third party, so what the edge forwards (or not) is seen directly.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from appliance.edge.kamailio import SipEdge, options_ping
from appliance.edge.policy import WINDOW_S
from tests.conftest import free_port
from tests.integration.test_sip_edge import edge

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PBX, STRANGER = "127.0.0.1", "127.0.0.2"
_seq = itertools.count(1)
SDP = "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 4000 {profile} 0\r\n"
CRYPTO = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"


@contextmanager
def udp(source: str, port: int = 0) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, port))
    try:
        yield sock
    finally:
        sock.close()


def request(
    sock: socket.socket,
    method: str,
    ruri: str,
    *,
    to_tag: bool = True,
    route: str = "",
    body: str = "",
    call_id: str = "",
) -> bytes:
    host, port = sock.getsockname()
    n = next(_seq)
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKpol{n}-{time.monotonic_ns()};rport",
        "Max-Forwards: 70",
        f"From: <sip:pbx@{host}>;tag=f{n}",
        "To: <sip:clinic@127.0.0.1>" + (";tag=w1" if to_tag else ""),
        f"Call-ID: {call_id or f'policy-{n}-{time.monotonic_ns()}'}",
        f"CSeq: {n} {method}",
        f"Contact: <sip:pbx@{host}:{port}>",
    ]
    if route:
        lines.append(f"Route: {route}")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def replies(sock: socket.socket, wait_s: float) -> list[bytes]:
    """Every datagram that arrives within `wait_s` of the last one."""
    got: list[bytes] = []
    sock.settimeout(wait_s)
    while True:
        try:
            got.append(sock.recv(65535))
        except TimeoutError:
            return got


def status(messages: list[bytes]) -> list[int]:
    return [int(m.split(b" ", 2)[1]) for m in messages if m.startswith(b"SIP/2.0 ")]


def methods(messages: list[bytes]) -> list[str]:
    """The requests among `messages` (OPTIONS probes of the dispatcher left out)."""
    found = [m.split(b" ", 1)[0].decode() for m in messages if not m.startswith(b"SIP/2.0")]
    return [m for m in found if m != "OPTIONS"]


def send(source: str, message_for: Any, edge_port: int, wait_s: float = 1.0) -> list[bytes]:
    with udp(source) as sock:
        sock.sendto(message_for(sock), ("127.0.0.1", edge_port))
        return replies(sock, wait_s)


def edge_log(sip_edge: SipEdge) -> str:
    return Path(sip_edge.rpc_socket.parent / "edge.log").read_text(errors="replace")


async def test_in_dialog_requests_pass_the_source_acl_too() -> None:
    worker_port = free_port()
    with udp("127.0.0.1", worker_port) as worker:
        async with edge(1, worker_port, allowed_sources=[f"{PBX}/32"]) as e:
            route = f"<sip:127.0.0.1:{e.port};lr>"
            ruri = f"sip:agent@127.0.0.1:{worker_port}"

            def bye(sock: socket.socket) -> bytes:
                return request(sock, "BYE", ruri, route=route)

            stranger = await asyncio.to_thread(send, STRANGER, bye, e.port)
            assert status(stranger) == [403]
            assert methods(await asyncio.to_thread(replies, worker, 0.5)) == []
            # the PBX's own in-dialog request still reaches the worker
            await asyncio.to_thread(send, PBX, bye, e.port, 0.3)
            assert set(methods(await asyncio.to_thread(replies, worker, 1.0))) == {"BYE"}
            log = edge_log(e)
    assert f"BYE refused by the source ACL from {STRANGER}" in log


async def test_the_edge_s_own_health_check_passes_an_acl_without_it() -> None:
    """The service pings the edge's address from the host itself, which no PBX network
    holds (edge() waits for that OPTIONS to be answered 200 before it yields)."""
    worker_port = free_port()
    with udp("127.0.0.1", worker_port):
        async with edge(1, worker_port, allowed_sources=["198.51.100.7/32"]) as e:
            assert await options_ping("127.0.0.1", e.port)
            options = await asyncio.to_thread(
                send,
                STRANGER,
                lambda s: request(s, "OPTIONS", f"sip:127.0.0.1:{e.port}", to_tag=False),
                e.port,
            )
            assert status(options) == [403]


async def test_in_dialog_requests_from_the_network_go_to_a_worker_or_nowhere() -> None:
    """A Route or Request-URI naming a third party is no way through the edge."""
    worker_port, victim_port = free_port(), free_port()
    with udp("127.0.0.1", worker_port) as worker, udp("127.0.0.1", victim_port) as victim:
        async with edge(1, worker_port, allowed_sources=[f"{PBX}/32"]) as e:
            edge_route = f"<sip:127.0.0.1:{e.port};lr>"
            onward = [
                (f"sip:victim@127.0.0.1:{victim_port}", edge_route),
                (
                    f"sip:agent@127.0.0.1:{worker_port}",
                    f"{edge_route}, <sip:127.0.0.1:{victim_port};lr>",
                ),
            ]
            for ruri, route in onward:
                for method in ("BYE", "INFO", "MESSAGE"):
                    got = await asyncio.to_thread(
                        send,
                        PBX,
                        lambda s, m=method, u=ruri, r=route: request(s, m, u, route=r),
                        e.port,
                    )
                    assert status(got) == [403], (method, ruri, route, got)
            assert await asyncio.to_thread(replies, victim, 0.5) == []
            assert methods(await asyncio.to_thread(replies, worker, 0.1)) == []
            log = edge_log(e)
    assert "to a hop that is no worker refused (no relay)" in log


def burst(source: str, edge_port: int, count: int) -> int:
    """`count` in-dialog requests for no call, as fast as they go; how many were answered."""
    ruri = f"sip:agent@127.0.0.1:{edge_port}"
    with udp(source) as sock:
        for _ in range(count):
            sock.sendto(request(sock, "INFO", ruri), ("127.0.0.1", edge_port))
        return len(status(replies(sock, 1.0)))


async def test_flood_limits_apply_to_every_source_and_request_the_pbx_higher() -> None:
    worker_port = free_port()
    with udp("127.0.0.1", worker_port):
        async with edge(
            1, worker_port, allowed_sources=[f"{PBX}/32"], flood_limit=10, flood_limit_trusted=30
        ) as e:
            # from the start of a 2 s window (the readiness probes from 127.0.0.1 count in an
            # earlier one); a burst that spills into the next window may pass the limit twice
            await asyncio.sleep(WINDOW_S - time.time() % WINDOW_S + 0.05)
            pbx = await asyncio.to_thread(burst, PBX, e.port, 100)
            stranger = await asyncio.to_thread(burst, STRANGER, e.port, 100)
            assert 30 <= pbx <= 60, pbx
            assert 10 <= stranger <= 20, stranger
            # a source that stops is heard again once the block ran out
            await asyncio.sleep(5.0)
            assert await asyncio.to_thread(burst, PBX, e.port, 1) == 1
            log = edge_log(e)
    assert f"flood from {PBX}: more than 30 requests" in log
    assert f"flood from {STRANGER}: more than 10 requests" in log


def offer(profile: str = "RTP/AVP", crypto: bool = False) -> str:
    return SDP.format(ip=PBX, profile=profile) + (CRYPTO if crypto else "")


async def test_sdes_keys_never_cross_udp() -> None:
    worker_port, pbx_port = free_port(), free_port()
    with udp("127.0.0.1", worker_port) as worker, udp(PBX, pbx_port) as pbx:
        async with edge(1, worker_port, srtp="optional") as e:
            ruri = f"sip:clinic@127.0.0.1:{e.port}"
            refused = {
                "keys in the offer": offer("RTP/SAVP", crypto=True),
                "no offer (the worker's would hold keys)": "",
            }
            for name, body in refused.items():
                got = await asyncio.to_thread(
                    send,
                    PBX,
                    lambda s, b=body: request(s, "INVITE", ruri, to_tag=False, body=b),
                    e.port,
                )
                assert status(got) == [488], (name, got)
            assert methods(await asyncio.to_thread(replies, worker, 0.5)) == []
            # a plain offer reaches the worker
            plain = request(pbx, "INVITE", ruri, to_tag=False, body=offer())
            await asyncio.to_thread(pbx.sendto, plain, ("127.0.0.1", e.port))
            assert "INVITE" in methods(await asyncio.to_thread(replies, worker, 1.0))
            # a worker's request with keys to a hop that is not TLS: refused back to it
            keyed = request(
                worker, "INVITE", f"sip:desk@127.0.0.1:{pbx_port}", to_tag=False,
                route=f"<sip:127.0.0.1:{e.port};lr>", body=offer("RTP/SAVP", crypto=True),
            )  # fmt: skip
            await asyncio.to_thread(worker.sendto, keyed, ("127.0.0.1", e.port))
            assert 488 in status(await asyncio.to_thread(replies, worker, 1.0))
            assert [m for m in await asyncio.to_thread(replies, pbx, 0.3) if b"a=crypto" in m] == []
            log = edge_log(e)
    assert "refused: SRTP keys (SDES) only over TLS" in log

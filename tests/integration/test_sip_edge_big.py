"""Big SIP requests from the PBX through the Kamailio edge to a real pjsua2 agent worker,
set up as the appliance sets up its workers (`worker_sip`).

pjsip reads at most 4000 bytes of a SIP message, over UDP (the rest of the datagram is cut
off) or TCP (the message is dropped): an INVITE of 8 KB reached the worker without its
offer, and the worker answered it with an offer of its own. The edge refuses a request
too big for a worker with 513 instead; one that fits goes through whole.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest

from appliance.config import load_settings
from appliance.edge.kamailio import SipEdge
from appliance.edge.policy import MAX_TO_WORKER
from appliance.ports import CallHandle
from appliance.services.agent import worker_sip
from appliance.sip import PjsipTelephony
from tests.conftest import free_port, free_ports
from tests.integration.test_sip_edge_policy import replies, status, udp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def hold(call: CallHandle) -> None:
    async for _ in call.frames():
        pass


@asynccontextmanager
async def edge_and_worker() -> AsyncIterator[tuple[SipEdge, PjsipTelephony]]:
    """An edge with one worker behind it, the worker's settings from `worker_sip`."""
    from tests.integration.test_sip_edge import edge

    worker_port, rtp = free_port(), free_ports(20)
    async with edge(1, worker_port) as sip_edge:
        settings = load_settings()
        sip = msgspec.structs.replace(
            settings.sip,
            port=sip_edge.port,
            host="127.0.0.1",
            workers=1,
            worker_port=worker_port,
            rtp_port=rtp + rtp % 2,
            rtp_port_range=18,
            codecs=["PCMU/8000"],
        )
        worker = PjsipTelephony(worker_sip(msgspec.structs.replace(settings, sip=sip), 0).sip)
        await worker.start(hold)
        try:
            yield sip_edge, worker
        finally:
            await worker.stop()


def big_invite(edge_port: int, source_port: int, pad: int) -> bytes:
    """An INVITE with a header of `pad` bytes and a send-only offer: an answer to it says
    recvonly, while a worker that never saw the offer makes its own (sendrecv)."""
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n"
    )
    return (
        f"INVITE sip:clinic@127.0.0.1:{edge_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{source_port};branch=z9hG4bKbig{random.randrange(10**9)}"
        ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:pbx@127.0.0.1>;tag=big1\r\n"
        f"To: <sip:clinic@127.0.0.1>\r\nCall-ID: big-{random.randrange(10**9)}\r\n"
        f"CSeq: 1 INVITE\r\nContact: <sip:pbx@127.0.0.1:{source_port}>\r\n"
        f"X-Long: {'a' * pad}\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


async def test_an_invite_too_big_for_a_worker_is_refused_with_513() -> None:
    async with edge_and_worker() as (sip_edge, worker):
        with udp("127.0.0.1") as pbx:
            message = big_invite(sip_edge.port, pbx.getsockname()[1], 8000)
            await asyncio.to_thread(pbx.sendto, message, ("127.0.0.1", sip_edge.port))
            got = await asyncio.to_thread(replies, pbx, 2.0)
        assert status(got) == [513], [m[:200] for m in got]
        assert worker.active_calls() == 0
        log = (sip_edge.rpc_socket.parent / "edge.log").read_text(errors="replace")
    assert f"INVITE of {len(message)} bytes from 127.0.0.1 refused: 513" in log


async def test_an_invite_that_fits_reaches_the_worker_whole() -> None:
    async with edge_and_worker() as (sip_edge, _worker):
        with udp("127.0.0.1") as pbx:
            message = big_invite(sip_edge.port, pbx.getsockname()[1], 3100)
            assert 3500 < len(message) <= MAX_TO_WORKER
            await asyncio.to_thread(pbx.sendto, message, ("127.0.0.1", sip_edge.port))
            got = await asyncio.to_thread(replies, pbx, 3.0)
    answers = [m for m in got if m.startswith(b"SIP/2.0 200")]
    assert answers, status(got)
    assert b"a=recvonly" in answers[0], answers[0].decode(errors="replace")  # our offer's answer

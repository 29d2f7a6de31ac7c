"""Blind and attended transfer between real pjsua2 endpoints: the agent (this process)
refers its caller (peer A, the transferee) to a front desk (peer B, or SIPp answering
busy); X-headers reach the front desk and the outcome comes back to the agent's call.
Attended: a consultation call to the desk first, then REFER with Replaces."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest

from appliance.edge.rpc import rpc_call
from appliance.errors import TelephonyError
from appliance.sip import PjsipCall
from appliance.sip.transfer import TransferResult
from tests.conftest import free_port
from tests.integration.telephony_peer import _loud_part as loud_part
from tests.integration.telephony_peer import dominant_hz, tone
from tests.integration.test_sip_edge import edge, sipp_workers
from tests.integration.test_telephony import Peer, running, sip_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

HANDOFF = {"X-Handoff-Id": "h-4711", "X-Summary": "reschedule, Tue 3 pm & callback"}


async def test_blind_transfer_reaches_the_front_desk_with_x_headers() -> None:
    caller = Peer("--rtp-port", "46400", "--hangup-after", "15", "--accept-transfers")
    desk = Peer("--rtp-port", "46500")
    try:
        async with running(sip_settings()) as telephony:
            call = await telephony.dial(caller.uri, timeout=5)
            assert isinstance(call, PjsipCall)
            await caller.anext("drained")
            result = await call.transfer(desk.uri, HANDOFF, within=10)
            assert result.ok and result.status == 200 and result.reason == "answered"
            assert call.ended and not call.remote_ended  # we left the call after the REFER
            answered = await desk.anext("call")
            assert answered["headers"] == HANDOFF
    finally:
        assert caller.close() == 0
        assert desk.close() == 0


async def test_a_busy_front_desk_leaves_the_caller_with_the_agent() -> None:
    caller = Peer("--rtp-port", "46600", "--hangup-after", "15", "--accept-transfers")
    try:
        with sipp_workers("uas_busy.xml") as port:
            async with running(sip_settings()) as telephony:
                call = await telephony.dial(caller.uri, timeout=5)
                assert isinstance(call, PjsipCall)
                result = await call.transfer(f"sip:desk@127.0.0.1:{port}", HANDOFF, within=10)
                assert not result.ok and result.status == 486 and result.reason == "refused"
                assert not call.ended  # the agent still has the caller ("the desk is busy...")
                with pytest.raises(TelephonyError) as bad:
                    await call.transfer(f"sip:desk@127.0.0.1:{port}", {"Subject": "x"})
                assert bad.value.code == "sip-transfer-invalid"
                await call.hangup()
    finally:
        assert caller.close() == 0


async def test_an_endpoint_refuses_referrals_by_default() -> None:
    """A caller must not be able to make the appliance dial out (toll fraud)."""
    caller = Peer("--rtp-port", "46700", "--hangup-after", "15")  # no --accept-transfers
    desk = Peer("--rtp-port", "46800")
    try:
        async with running(sip_settings()) as telephony:
            call = await telephony.dial(caller.uri, timeout=5)
            assert isinstance(call, PjsipCall)
            result = await call.transfer(desk.uri, within=10)
            assert not result.ok and result.status == 603 and not call.ended
            await call.hangup()
        assert desk.events.empty()  # the desk was never called
    finally:
        assert caller.close() == 0
        assert desk.close() == 0


async def test_attended_transfer_bridges_the_caller_with_the_front_desk() -> None:
    """Consultation call (X-headers in its INVITE), then REFER with Replaces: the desk's
    consultation call is replaced by one from the caller, and audio flows both ways."""
    caller = Peer(
        *("--rtp-port", "46900", "--hangup-after", "15", "--accept-transfers"),
        *("--tone-hz", "660", "--tone-ms", "1500"),  # then it echoes what it hears
    )
    desk = Peer("--rtp-port", "47900", "--hangup-after", "3", "--no-echo")  # 0.6 s of 440 Hz
    try:
        async with running(sip_settings()) as telephony:
            call = await telephony.dial(caller.uri, timeout=5)
            assert isinstance(call, PjsipCall)
            await caller.anext("drained")
            result = await call.attended_transfer(desk.uri, HANDOFF, ring_s=10, within=10)
            assert result == TransferResult(True, 200, "answered")
            assert call.ended and not call.remote_ended  # the agent left
            consultation = await desk.anext("call")
            assert consultation["headers"] == HANDOFF  # on the desk's screen before it answers
            replaced = await desk.anext("call")  # the INVITE with Replaces, from the caller
            assert replaced["headers"] == HANDOFF and replaced["call_id"] != consultation["call_id"]
            referred = await caller.anext("call")
            assert referred["direction"] == "referred"
            ended = [await desk.anext("ended", 15), await desk.anext("ended", 15)]
            bridged = next(e for e in ended if e["call_id"] == replaced["call_id"])
            assert abs(bridged["heard_hz"] - 660) < 30  # the desk hears the caller
            ended = [await caller.anext("ended", 15), await caller.anext("ended", 15)]
            with_desk = next(e for e in ended if e["call_id"] == referred["call_id"])
            assert abs(with_desk["heard_hz"] - 440) < 30  # and the caller hears the desk
    finally:
        assert caller.close() == 0
        assert desk.close() == 0


async def test_a_busy_desk_in_consultation_returns_the_caller_to_the_agent() -> None:
    caller = Peer("--rtp-port", "48400", "--hangup-after", "15", "--accept-transfers")
    try:
        with sipp_workers("uas_busy.xml") as port:
            async with running(sip_settings()) as telephony:
                call = await telephony.dial(caller.uri, timeout=5)
                assert isinstance(call, PjsipCall)
                await caller.anext("drained")
                desk = f"sip:desk@127.0.0.1:{port}"
                result = await call.attended_transfer(desk, HANDOFF, ring_s=10, within=10)
                assert result == TransferResult(False, 486, "refused")
                assert not call.ended  # "the front desk is busy, I can take a message"
                assert await echoed_hz(call, 1000.0) == pytest.approx(1000, abs=30)
                with pytest.raises(TelephonyError) as bad:
                    await call.attended_transfer(desk, {"X-Summary": "two\r\nlines"})
                assert bad.value.code == "sip-transfer-invalid"
                await call.hangup()
    finally:
        assert caller.close() == 0


async def echoed_hz(call: PjsipCall, hz: float) -> float:
    """Play a tone to the caller (who echoes it) and return what comes back loudest."""
    heard = bytearray()

    async def listen() -> None:
        async for chunk in call.frames():
            heard.extend(chunk.pcm)

    listener = asyncio.create_task(listen())
    await call.play(tone(hz, 800))
    await call.drain()
    await asyncio.sleep(0.6)
    listener.cancel()
    return dominant_hz(loud_part(bytes(heard)))


@pytest.mark.timeout(120)  # its own waits are bounded and add up to ~85 s (CI: once > 60 s)
async def test_attended_transfer_from_a_worker_behind_the_edge() -> None:
    """The deployed topology: the worker listens on loopback behind Kamailio, so its own
    calls (to the caller here, and the consultation call to the desk) leave through the
    edge as outbound proxy; the REFER goes through the edge inside the dialog."""
    caller = Peer(
        *("--rtp-port", "49000", "--hangup-after", "15", "--accept-transfers"),
        *("--tone-hz", "660", "--tone-ms", "1500"),
    )
    desk = Peer("--rtp-port", "49100", "--hangup-after", "3", "--no-echo")
    worker_port = free_port()
    try:
        async with edge(1, worker_port) as sip_edge:
            proxy = f"sip:127.0.0.1:{sip_edge.port};lr"
            sip = msgspec.structs.replace(
                sip_settings(port=worker_port), transports=["udp"], outbound_proxy=proxy
            )
            async with running(sip) as telephony:
                call = await telephony.dial(caller.uri, timeout=5)
                assert isinstance(call, PjsipCall)
                await caller.anext("drained")
                dialogs = rpc_call(sip_edge.rpc_socket, "htable.dump", ["calls"])
                assert f"sip:127.0.0.1:{worker_port}" in json.dumps(dialogs)  # via the edge
                result = await call.attended_transfer(desk.uri, HANDOFF, ring_s=10, within=10)
                assert result == TransferResult(True, 200, "answered")
                assert (await desk.anext("call"))["headers"] == HANDOFF
                replaced = await desk.anext("call")
                ended = [await desk.anext("ended", 15), await desk.anext("ended", 15)]
                bridged = next(e for e in ended if e["call_id"] == replaced["call_id"])
                assert abs(bridged["heard_hz"] - 660) < 30  # the desk hears the caller
    finally:
        assert caller.close() == 0
        assert desk.close() == 0

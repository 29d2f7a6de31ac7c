"""Blind transfer (REFER) between real pjsua2 endpoints: the agent (this process) refers
its caller (peer A, the transferee) to a front desk (peer B, or SIPp answering busy);
X-headers reach the front desk and the outcome comes back to the agent's call."""

from __future__ import annotations

import pytest

from appliance.errors import TelephonyError
from appliance.telephony import PjsipCall
from tests.integration.test_sip_edge import sipp_workers
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

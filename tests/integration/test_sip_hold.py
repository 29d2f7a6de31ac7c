"""Hold/unhold re-INVITEs from the caller (SIPp) and the maximum call duration."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

import msgspec
import pytest

from appliance.ports import CallHandle
from appliance.sip import PjsipCall
from tests.conftest import free_port
from tests.integration.test_telephony import running, sip_settings, sipp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SCENARIOS = Path(__file__).parents[1] / "e2e" / "sipp"
HOLD_MS = 3000  # twice the RTP timeout below: the hold must not count as silence
RTP_TIMEOUT_S = 1.5


def sipp_hold(port: int, direction: str) -> subprocess.CompletedProcess[str]:
    scenario = Path(tempfile.mkdtemp(prefix="sipp-")) / "uac_hold.xml"
    text = (SCENARIOS / "uac_hold.xml").read_text().replace("__HOLD__", direction)
    scenario.write_text(text.replace("__HOLD_MS__", str(HOLD_MS)))
    cmd = ["sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-nostdin", "-i", "127.0.0.1"]
    cmd += ["-p", str(free_port()), "-mp", str(free_port()), "-m", "1", "-timeout", "20s"]
    try:
        return subprocess.run([*cmd, "-timeout_error"], capture_output=True, text=True, timeout=30)
    finally:
        shutil.rmtree(scenario.parent, ignore_errors=True)


class Calls:
    def __init__(self) -> None:
        self.calls: list[PjsipCall] = []

    async def handler(self, call: CallHandle) -> None:
        assert isinstance(call, PjsipCall)
        self.calls.append(call)
        async for _ in call.frames():
            pass

    async def until(self, check: object, within: float) -> None:
        for _ in range(int(within / 0.02)):
            if self.calls and check(self.calls[0]):  # type: ignore[operator]
                return
            await asyncio.sleep(0.02)
        raise AssertionError("condition not reached")


@pytest.mark.parametrize("direction", ["sendonly", "inactive"])
async def test_hold_and_unhold_keep_the_call_and_pause_the_rtp_timeout(direction: str) -> None:
    seen = Calls()
    async with running(sip_settings(), seen.handler, rtp_timeout_s=RTP_TIMEOUT_S) as telephony:
        caller = asyncio.create_task(asyncio.to_thread(sipp_hold, telephony.sip_port, direction))
        await seen.until(lambda c: c.on_hold, 3.0)
        await seen.until(lambda c: not c.on_hold or c.ended, HOLD_MS / 1000 + 2)
        call = seen.calls[0]
        assert not call.ended  # taken off hold, not hung up for lack of RTP
        out = await caller
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
        await seen.until(lambda c: c.ended, 3.0)
        assert call.end_reason == "remote-hangup" and call.remote_ended


async def test_a_call_is_ended_at_the_maximum_duration() -> None:
    seen = Calls()
    sip = msgspec.structs.replace(sip_settings(), max_call_s=1.5)
    async with running(sip, seen.handler) as telephony:
        caller = asyncio.create_task(asyncio.to_thread(sipp, telephony.sip_port, "-d", "10000"))
        await seen.until(lambda c: c.ended, 5.0)
        call = seen.calls[0]
        assert call.end_reason == "max-duration" and not call.remote_ended
        assert call.answered_at is not None and call.ended_at is not None
        assert 1.4 <= call.ended_at - call.answered_at <= 3.0
        assert telephony.active_calls() == 0
        out = await caller
        assert "BYE" in out.stdout  # SIPp received our BYE during its pause

"""DTMF over real SIP: RFC 4733 telephone-events and SIP INFO, both directions between
two pjsua2 endpoints, and SIPp playing recorded RFC 4733 packets / sending SIP INFO."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.errors import TelephonyError
from appliance.ports import CallHandle, DtmfDigit
from appliance.sip import PjsipCall
from tests.conftest import free_port
from tests.integration.test_telephony import Peer, running, sip_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SCENARIOS = Path(__file__).parents[1] / "e2e" / "sipp"
PCAPS = Path("/usr/share/sip-tester")


async def collect(call: PjsipCall, into: list[DtmfDigit]) -> None:
    async for key in call.dtmf():
        into.append(key)


@pytest.fixture(params=["rfc4733", "sip-info"])
def dtmf_peer(request: pytest.FixtureRequest) -> Iterator[tuple[Peer, str]]:
    method = str(request.param)
    peer = Peer("--rtp-port", "46300", "--dtmf", "159#", "--dtmf-method", method)
    yield peer, method
    assert peer.close() == 0


async def test_digits_flow_both_ways(dtmf_peer: tuple[Peer, str]) -> None:
    peer, method = dtmf_peer
    other = "sip-info" if method == "rfc4733" else "rfc4733"
    got: list[DtmfDigit] = []
    async with running(sip_settings()) as telephony:
        call = await telephony.dial(peer.uri, timeout=5)
        assert isinstance(call, PjsipCall)
        keys = asyncio.create_task(collect(call, got))
        await peer.anext("drained")
        await call.send_dtmf("*0D", other)
        sent = [(await peer.anext("dtmf"))["digit"] for _ in range(3)]
        for _ in range(100):
            if len(got) >= 4:
                break
            await asyncio.sleep(0.05)
        await call.hangup()
        await asyncio.wait_for(keys, 3)  # dtmf() ends with the call
        with pytest.raises(TelephonyError) as ended:
            await call.send_dtmf("1")
        assert ended.value.code == "sip-call-ended"
    assert sent == ["*", "0", "D"]
    assert [k.digit for k in got] == ["1", "5", "9", "#"]
    assert {k.method for k in got} == {method}
    assert all(k.duration_ms > 0 for k in got)


async def test_invalid_digits_are_refused_with_a_coded_error() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "outbound")
    for digits, method in (("12x", "rfc4733"), ("", "rfc4733"), ("1", "inband")):
        with pytest.raises(TelephonyError) as bad:
            await call.send_dtmf(digits, method)
        assert bad.value.code == "sip-dtmf-invalid"


def sipp_dtmf(port: int) -> subprocess.CompletedProcess[str]:
    scenario = Path(tempfile.mkdtemp(prefix="sipp-")) / "uac_dtmf.xml"
    text = (SCENARIOS / "uac_dtmf.xml").read_text()
    scenario.write_text(text.replace("__PCAP_DIR__", str(PCAPS)))
    cmd = ["sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-nostdin", "-i", "127.0.0.1"]
    cmd += ["-p", str(free_port()), "-mp", str(free_port()), "-m", "1"]
    try:
        return subprocess.run(
            [*cmd, "-timeout", "20s", "-timeout_error"], capture_output=True, text=True, timeout=30
        )
    finally:
        shutil.rmtree(scenario.parent, ignore_errors=True)


@pytest.mark.skipif(not (PCAPS / "dtmf_2833_1.pcap").exists(), reason="SIPp's pcaps missing")
async def test_sipp_rfc4733_packets_and_sip_info_reach_the_call() -> None:
    got: list[DtmfDigit] = []

    async def handler(call: CallHandle) -> None:
        assert isinstance(call, PjsipCall)
        await collect(call, got)

    async with running(sip_settings(codecs=["PCMU/8000"]), handler) as telephony:
        out = await asyncio.to_thread(sipp_dtmf, telephony.sip_port)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert [(k.digit, k.method) for k in got] == [
        ("1", "rfc4733"),
        ("#", "rfc4733"),
        ("7", "sip-info"),
    ]
    assert got[2].duration_ms == 250  # as the INFO body said

"""Lifecycle of one agent worker's SIP endpoint: OPTIONS health checks and drain.

SIPp calls a `PjsipTelephony` in this process over loopback.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.edge.kamailio import options_ping
from appliance.ports import CallHandle
from tests.conftest import free_port
from tests.integration.test_telephony import running, sip_settings, sipp, sipp_count

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SCENARIOS = Path(__file__).parents[1] / "e2e" / "sipp"
DRAIN_S = 30.0  # s a drain may wait for the call in progress (it ends by itself after 2.5 s)


async def hold(call: CallHandle) -> None:
    async for _ in call.frames():
        pass


def sipp_rejected(port: int, code: int, retry_after: bool) -> subprocess.CompletedProcess[str]:
    scenario = Path(tempfile.mkdtemp(prefix="sipp-")) / "uac_rejected.xml"
    text = (SCENARIOS / "uac_rejected.xml").read_text().replace("__CODE__", str(code))
    scenario.write_text(text.replace("__RETRY__", "true" if retry_after else "false"))
    cmd = ["sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-nostdin", "-i", "127.0.0.1"]
    cmd += ["-p", str(free_port()), "-mp", str(free_port()), "-m", "1", "-timeout", "10s"]
    try:
        return subprocess.run([*cmd, "-timeout_error"], capture_output=True, text=True, timeout=20)
    finally:
        shutil.rmtree(scenario.parent, ignore_errors=True)


async def wait_active(telephony: object, count: int) -> None:
    for _ in range(250):
        if telephony.active_calls() == count:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} active calls")


async def test_the_worker_answers_options() -> None:
    async with running(sip_settings()) as telephony:
        assert await options_ping("127.0.0.1", telephony.sip_port)


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.01)


async def test_drain_refuses_new_calls_with_503_and_waits_for_calls_in_progress() -> None:
    async with running(sip_settings(), hold) as telephony:
        first = asyncio.create_task(asyncio.to_thread(sipp, telephony.sip_port, "-d", "2500"))
        await wait_active(telephony, 1)
        started = time.monotonic()
        draining = asyncio.create_task(telephony.drain(DRAIN_S))
        stack = telephony._stack  # test-only read: drain() has switched the stack over
        await until(lambda: stack is not None and stack.draining, "drain() refusing calls")
        refused = await asyncio.to_thread(sipp_rejected, telephony.sip_port, 503, True)
        assert refused.returncode == 0, refused.stdout[-3000:]
        assert await draining == 0
        # it returned when the call ended by itself (2.5 s), not at its deadline
        assert time.monotonic() - started < DRAIN_S / 2
        held = await first
        assert held.returncode == 0 and sipp_count(held.stdout, "Successful call") == 1


async def drain_with_a_call_up(within: float) -> tuple[int, float, str]:
    """Drain for `within` s while a 20 s call is up, then stop(): (calls left after the
    drain, s it took, SIPp's output)."""
    async with running(sip_settings(), hold) as telephony:
        first = asyncio.create_task(asyncio.to_thread(sipp, telephony.sip_port, "-d", "20000"))
        await wait_active(telephony, 1)
        started = time.monotonic()
        left = await telephony.drain(within)
        took = time.monotonic() - started
        await telephony.stop()
        assert telephony.active_calls() == 0
        out = await first  # SIPp got our BYE in the middle of its pause
        return left, took, out.stdout


async def test_drain_gives_up_at_its_deadline_and_stop_ends_the_call() -> None:
    left, took, out = await drain_with_a_call_up(1.0)
    assert left == 1  # the call was still up: drain gave up
    assert took >= 0.9  # ... at its deadline, not before
    assert "BYE" in out


@pytest.mark.perf
async def test_drain_gives_up_promptly_at_its_deadline() -> None:
    """Speed (perf marker): drain(1.0) is back within a second of its deadline."""
    left, took, _ = await drain_with_a_call_up(1.0)
    assert left == 1 and 0.9 < took < 2.0, took

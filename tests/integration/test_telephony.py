"""Real SIP over loopback: two pjsua2 endpoints (this process + a subprocess peer) and SIPp.

pjsua2 allows one Endpoint per process at a time, so the peer that answers our calls
runs `telephony_peer.py` in a subprocess; PjsipTelephony instances in this process
are created and stopped one after another.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from appliance.config import Sip
from appliance.errors import TelephonyError
from appliance.observability.metrics import Metrics
from appliance.ports import CallHandle
from appliance.sip import PjsipCall, PjsipTelephony
from tests.conftest import free_port
from tests.integration.telephony_peer import dominant_hz, loopback_sip, tone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PEER = Path(__file__).with_name("telephony_peer.py")
ALL_CODECS = ["G722/16000", "PCMU/8000", "PCMA/8000"]
PEER_TONE_MS = 600  # the peer greets every call with a 440 Hz tone this long
PEER_HANGUP_S = 2.5  # and hangs up this long after its tone
_rtp_base = iter(range(47000, 48000, 20))


class Peer:
    """The subprocess endpoint; its JSON events arrive on a queue."""

    def __init__(self, *extra: str) -> None:
        cmd = [
            sys.executable,
            str(PEER),
            "--rtp-port",
            "46000",
            "--tone-ms",
            str(PEER_TONE_MS),
            "--hangup-after",
            str(PEER_HANGUP_S),
            *extra,
        ]
        env = {**os.environ, "PYTHONPATH": str(PEER.parents[2])}
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = int(self.next("listening", 15)["port"])
        self.uri = f"sip:clinic@127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def next(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event["event"] == kind:
                return event
        raise AssertionError(f"peer sent no {kind!r} event in {timeout} s")

    async def anext(self, kind: str, within: float = 10.0) -> dict[str, Any]:
        return await asyncio.to_thread(self.next, kind, within)

    def flush(self) -> None:
        while not self.events.empty():
            self.events.get_nowait()

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=15)


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    assert p.close() == 0


def sip_settings(codecs: list[str] | None = None, max_calls: int = 4, port: int = 0) -> Sip:
    """The default [sip] settings, on loopback with an ephemeral port unless given."""
    return loopback_sip(
        port=port,
        transports=["udp", "tcp"],
        rtp_port=next(_rtp_base),
        rtp_port_range=20,
        codecs=codecs or ALL_CODECS,
        max_calls=max_calls,
    )


async def refuse(call: CallHandle) -> None:
    await call.hangup()


@asynccontextmanager
async def running(sip: Sip, handler: Any = refuse, **options: Any) -> AsyncIterator[PjsipTelephony]:
    telephony = PjsipTelephony(sip, user_agent="pytest", **options)
    await telephony.start(handler)
    try:
        yield telephony
    finally:
        await telephony.stop()


class Recorder:
    """Collects everything frames() yields, until it ends."""

    def __init__(self, call: CallHandle) -> None:
        self.pcm = bytearray()
        self.count = 0
        self.task = asyncio.create_task(self._run(call))

    async def _run(self, call: CallHandle) -> None:
        async for chunk in call.frames():
            assert chunk.rate == 16_000 and len(chunk.pcm) == 640
            self.pcm.extend(chunk.pcm)
            self.count += 1

    def seconds(self, start: float, end: float) -> bytes:
        return bytes(self.pcm[int(start * 16000) * 2 : int(end * 16000) * 2])

    async def ended(self, within: float) -> None:
        await asyncio.wait_for(asyncio.shield(self.task), within)


def sipp(
    port: int, *args: str, calls: int = 1, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """SIPp's built-in uac scenario against 127.0.0.1:`port` (it sends no RTP)."""
    cmd = [
        "sipp",
        f"127.0.0.1:{port}",
        "-sn",
        "uac",
        "-nostdin",
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mp",
        str(free_port()),
        "-m",
        str(calls),
        "-timeout",
        f"{int(timeout) - 5}s",
        "-timeout_error",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def sipp_count(out: str, what: str) -> int:
    match = re.search(rf"{what}\s*\|\s*\d+\s*\|\s*(\d+)", out)
    assert match, out[-2000:]
    return int(match.group(1))


def thread_name(tid: str) -> str:
    try:
        return Path(f"/proc/self/task/{tid}/comm").read_text().strip()
    except OSError:
        return "(gone)"


async def native_threads_left(before: set[str], within: float = 2.0) -> dict[str, str]:
    """Threads (not Python's own) started since `before` and still alive after `within` s.

    A joined thread can linger in /proc for a moment, so this polls.
    """
    deadline = time.monotonic() + within
    while True:
        python_threads = {str(t.native_id) for t in threading.enumerate()}
        new = set(os.listdir("/proc/self/task")) - before - python_threads
        if not new or time.monotonic() > deadline:
            return {tid: thread_name(tid) for tid in new}
        await asyncio.sleep(0.05)


# --- two pjsua2 endpoints ---------------------------------------------------------------


async def test_audio_flows_both_ways_and_local_hangup_ends_the_call(peer: Peer) -> None:
    peer.flush()
    async with running(sip_settings()) as telephony:
        call = await telephony.dial(peer.uri, timeout=5)
        assert isinstance(call, PjsipCall)
        assert call.codec == "G722" and call.rate == 16_000 and call.answered_at is not None
        assert (await peer.anext("call"))["codec"] == "G722"
        assert telephony.active_calls() == 1
        rec = Recorder(call)
        await asyncio.sleep(PEER_TONE_MS / 1000 + 0.2)
        await call.play(tone(1000.0, 500, rate=8000))  # resampled to 16 kHz by play()
        queued = time.monotonic()
        first_sent = await call.drain()
        drained = time.monotonic()
        assert first_sent is not None and queued - 0.05 <= first_sent <= queued + 0.3
        assert 0.4 <= drained - first_sent <= 1.0  # 500 ms of audio left at 20 ms a frame
        assert await call.drain() is None  # nothing queued since
        await asyncio.sleep(0.6)  # the echo of our tone comes back
        await call.hangup()
        await rec.ended(3)
        assert call.ended and not call.remote_ended
        assert telephony.active_calls() == 0
    greeted = rec.seconds(0.05, PEER_TONE_MS / 1000 - 0.05)
    assert abs(dominant_hz(greeted) - 440) < 10  # the peer's tone reached us
    echoed = rec.seconds(PEER_TONE_MS / 1000 + 0.5, PEER_TONE_MS / 1000 + 1.1)
    assert abs(dominant_hz(echoed) - 1000) < 10  # our tone reached the peer and came back
    drained_event = await peer.anext("drained")
    assert drained_event["now"] - drained_event["first_sent"] >= PEER_TONE_MS / 1000 - 0.1
    ended = await peer.anext("ended")
    assert ended["remote_ended"] is True and abs(ended["heard_hz"] - 1000) < 10


async def test_remote_hangup_ends_frames(peer: Peer) -> None:
    peer.flush()
    async with running(sip_settings(["PCMU/8000"])) as telephony:
        call = await telephony.dial(peer.uri, timeout=5)
        rec = Recorder(call)
        await rec.ended(PEER_TONE_MS / 1000 + PEER_HANGUP_S + 3)
        assert call.remote_ended and call.ended
        assert rec.count >= (PEER_TONE_MS / 1000 + PEER_HANGUP_S) * 50 * 0.8
        await call.hangup()  # no-op once ended
        assert await call.drain() is None
        await call.play(tone(440.0, 100))  # discarded: the call is over
    ended = await peer.anext("ended")
    assert ended["remote_ended"] is False


@pytest.mark.parametrize("codec", ["PCMU", "PCMA", "G722"])
async def test_each_codec_negotiates_and_carries_audio(peer: Peer, codec: str) -> None:
    peer.flush()
    wanted = next(c for c in ALL_CODECS if c.startswith(codec + "/"))
    async with running(sip_settings([wanted])) as telephony:
        assert telephony.status()["codecs"] == [wanted + "/1"]
        call = await telephony.dial(peer.uri, timeout=5)
        assert call.codec == codec
        assert (await peer.anext("call"))["codec"] == codec
        rec = Recorder(call)
        await asyncio.sleep(PEER_TONE_MS / 1000)
        await call.hangup()
        await rec.ended(3)
    assert abs(dominant_hz(rec.seconds(0.1, PEER_TONE_MS / 1000 - 0.1)) - 440) < 10


async def test_stop_hangs_up_and_leaves_no_threads(peer: Peer) -> None:
    peer.flush()
    before = set(os.listdir("/proc/self/task"))
    telephony = PjsipTelephony(sip_settings(), user_agent="pytest")
    await telephony.start(refuse)
    assert telephony.status()["listening"] is True and telephony.sip_port > 0
    call = await telephony.dial(peer.uri, timeout=5)
    assert any(t.name == "pjsip-endpoint" for t in threading.enumerate())
    await telephony.stop()
    assert call.ended and not call.remote_ended
    status = telephony.status()
    assert status["listening"] is False and status["active_calls"] == 0
    assert not any(t.name == "pjsip-endpoint" for t in threading.enumerate())
    leaked = await native_threads_left(before)
    assert not leaked, f"native threads left behind: {leaked}"
    assert (await peer.anext("ended"))["remote_ended"] is True


async def test_dial_failures_raise_coded_errors() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # swallows the INVITE
    silent.bind(("127.0.0.1", 0))
    try:
        async with running(sip_settings()) as telephony:
            started = time.monotonic()
            with pytest.raises(TelephonyError) as info:
                await telephony.dial(f"sip:x@127.0.0.1:{silent.getsockname()[1]}", timeout=1)
            assert info.value.code == "sip-call-failed"
            assert time.monotonic() - started < 3
            with pytest.raises(TelephonyError) as info:
                await telephony.dial("not a sip uri", timeout=1)
            assert info.value.code == "sip-call-failed" and "not a sip uri" not in str(info.value)
            assert telephony.active_calls() == 0
    finally:
        silent.close()


# --- SIPp against our endpoint ------------------------------------------------------------


@pytest.mark.parametrize("transport", ["u1", "t1"])  # SIPp's names for UDP and TCP
async def test_sipp_builtin_uac_completes(transport: str) -> None:
    calls: list[PjsipCall] = []

    async def listen(call: CallHandle) -> None:
        assert isinstance(call, PjsipCall)
        calls.append(call)
        await call.play(tone(440.0, 300))
        async for _ in call.frames():
            pass

    async with running(sip_settings(max_calls=1), listen) as telephony:
        out = await asyncio.to_thread(sipp, telephony.sip_port, "-d", "1000", "-t", transport)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert sipp_count(out.stdout, "Successful call") == 1
        for _ in range(100):
            if calls and calls[0].ended:
                break
            await asyncio.sleep(0.02)
    [call] = calls
    assert call.codec == "PCMU" and call.remote_ended and call.end_reason == "remote-hangup"
    assert call.status_code == 200


async def test_max_calls_rejects_with_486_busy_here() -> None:
    async def hold(call: CallHandle) -> None:
        async for _ in call.frames():
            pass

    metrics = Metrics()
    options = {"on_rejected": metrics.call_rejected}
    async with running(sip_settings(max_calls=1), hold, **options) as telephony:
        first = asyncio.create_task(asyncio.to_thread(sipp, telephony.sip_port, "-d", "3000"))
        for _ in range(200):
            if telephony.active_calls() == 1:
                break
            await asyncio.sleep(0.02)
        assert telephony.active_calls() == 1
        busy = await asyncio.to_thread(sipp, telephony.sip_port)
        assert busy.returncode != 0
        assert sipp_count(busy.stdout, "Failed call") == 1
        assert "486" in busy.stdout + busy.stderr
        assert telephony.active_calls() == 1  # the rejected call never counted
        rejected = metrics.registry.get_sample_value(
            "appliance_calls_rejected_total", {"code": "486"}
        )
        assert rejected == 1.0  # the answer-rate SLO's offered calls include it
        held = await first
        assert held.returncode == 0, held.stdout[-2000:]


async def test_handler_return_or_error_hangs_up() -> None:
    handled: list[PjsipCall] = []

    async def fail(call: CallHandle) -> None:
        assert isinstance(call, PjsipCall)
        handled.append(call)
        await asyncio.sleep(0.2)
        raise RuntimeError("handler bug")

    async with running(sip_settings(), fail) as telephony:
        caller = asyncio.create_task(asyncio.to_thread(sipp, telephony.sip_port, "-d", "5000"))
        for _ in range(150):
            if handled and handled[0].ended:
                break
            await asyncio.sleep(0.02)
        [call] = handled
        assert call.ended and not call.remote_ended and call.end_reason == "local-hangup"
        assert telephony.active_calls() == 0
        await caller  # SIPp counts our early BYE as unexpected: its exit code is not ours


async def test_a_caller_that_sends_no_rtp_is_hung_up() -> None:
    calls: list[PjsipCall] = []

    async def listen(call: CallHandle) -> None:
        assert isinstance(call, PjsipCall)
        calls.append(call)
        async for _ in call.frames():
            pass

    async with running(sip_settings(), listen, rtp_timeout_s=1.0) as telephony:
        # SIPp's built-in uac sends no RTP at all; it would hold the call for 6 s
        caller = asyncio.create_task(asyncio.to_thread(sipp, telephony.sip_port, "-d", "6000"))
        for _ in range(200):
            if calls and calls[0].ended:
                break
            await asyncio.sleep(0.02)
        [call] = calls
        assert call.ended and call.end_reason == "rtp-timeout" and call.remote_ended
        assert call.answered_at is not None and call.ended_at is not None
        assert 1.0 <= call.ended_at - call.answered_at <= 3.0
        assert telephony.active_calls() == 0
        await caller


async def test_many_short_calls_reuse_media_ports_within_pjsua_call_slots() -> None:
    """Regression: deleting a media port per call crashed the media clock under load."""
    handled: list[PjsipCall] = []

    async def greet(call: CallHandle) -> None:
        assert isinstance(call, PjsipCall)
        handled.append(call)
        await call.play(tone(440.0, 100))
        async for _ in call.frames():
            pass

    async with running(sip_settings(max_calls=16), greet) as telephony:
        limit = telephony.status()["max_calls"]
        assert isinstance(limit, int) and 1 <= limit <= 16  # capped to pjsua's call slots
        out = await asyncio.to_thread(
            sipp, telephony.sip_port, "-d", "200", "-r", "50", "-l", str(limit), calls=30
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert sipp_count(out.stdout, "Successful call") == 30
        for _ in range(100):
            if len(handled) == 30 and all(c.ended for c in handled):
                break
            await asyncio.sleep(0.02)
        assert len(handled) == 30 and all(c.remote_ended for c in handled)
        assert telephony.active_calls() == 0


async def test_a_busy_sip_port_fails_start_with_a_coded_error() -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        telephony = PjsipTelephony(sip_settings(port=port), user_agent="pytest")
        with pytest.raises(TelephonyError) as info:
            await telephony.start(refuse)
        assert info.value.code == "sip-bind-failed"
        assert telephony.status()["listening"] is False and telephony.active_calls() == 0
        await telephony.stop()  # nothing to stop: a no-op
    finally:
        taken.close()
    async with running(sip_settings()) as again:  # the endpoint can be created anew
        assert again.sip_port > 0

"""PjsipCall and Outbox without a SIP stack: a thread stands in for PJSIP's media clock."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from appliance.audio import AudioChunk
from appliance.sip.call import RX_QUEUE_FRAMES, PjsipCall
from appliance.sip.media import FRAME_BYTES, Outbox

pytestmark = pytest.mark.unit


class MediaClock:
    """Pops one outgoing frame per `period` s from another thread, like PJSIP does."""

    def __init__(self, call: PjsipCall, period: float = 0.002) -> None:
        self.sent: list[bytes] = []
        self._call, self._period = call, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._call.outbox.pop()
            if frame is not None:
                self.sent.append(frame)
            time.sleep(self._period)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


async def until(condition: Callable[[], bool], what: str, timeout: float = 2.0) -> None:
    """Yield to the loop until `condition()` holds; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not done within {timeout} s")
        await asyncio.sleep(0.001)


def pcm(ms: int, rate: int = 16_000, value: int = 1000) -> bytes:
    return value.to_bytes(2, "little", signed=True) * (rate * ms // 1000)


async def test_play_queues_whole_frames_and_drain_flushes_the_rest() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    await call.play(AudioChunk(pcm(50), 16_000))  # 2.5 frames
    assert call.outbox.pending() == 2
    await call.play(AudioChunk(pcm(10), 16_000))  # 0.5 + 0.5 = a third frame
    assert call.outbox.pending() == 3
    await call.play(AudioChunk(pcm(5), 16_000))
    clock = MediaClock(call)
    try:
        first = await asyncio.wait_for(call.drain(), 2)
    finally:
        clock.stop()
    assert first is not None and first <= time.monotonic()
    assert len(clock.sent) == 4 and all(len(f) == FRAME_BYTES for f in clock.sent)
    assert clock.sent[-1][: 5 * 32] == pcm(5) and clock.sent[-1][5 * 32 :] == bytes(15 * 32)
    assert await call.drain() is None  # nothing queued since the last drain


async def test_play_resamples_to_16k() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    await call.play(AudioChunk(pcm(100, rate=8000), 8000))
    assert call.outbox.pending() == 5  # 100 ms at 16 kHz


async def test_drain_reports_the_first_frame_of_each_batch() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    clock = MediaClock(call)
    try:
        queued = time.monotonic()
        await call.play(AudioChunk(pcm(100), 16_000))
        first = await asyncio.wait_for(call.drain(), 2)
        done = time.monotonic()
        assert first is not None and queued <= first <= done
        queued = time.monotonic()  # after the last of the first batch's frames left
        await call.play(AudioChunk(pcm(40), 16_000))
        second = await asyncio.wait_for(call.drain(), 2)
        assert second is not None and second >= queued > first
    finally:
        clock.stop()


async def test_stop_playback_clears_the_queue_and_releases_drain() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    await call.play(AudioChunk(pcm(2000), 16_000))
    assert call.outbox.pending() == 100
    drain = asyncio.create_task(call.drain())
    await asyncio.sleep(0)  # one loop iteration: the task runs until it waits for the outbox
    assert not drain.done(), "drain() returned with 100 frames queued"
    call.stop_playback()
    assert call.outbox.pending() == 0
    assert await asyncio.wait_for(drain, 1) is None  # nothing was ever sent


async def test_frames_arrive_from_another_thread_and_end_with_the_call() -> None:
    loop = asyncio.get_running_loop()
    call = PjsipCall(loop, "inbound")
    frames = [bytes([i]) * FRAME_BYTES for i in range(5)]

    def media_thread() -> None:
        for i, frame in enumerate(frames):
            call.media_frame(frame, float(i))
        call.sip_ended(True, 200, "remote-hangup")

    threading.Thread(target=media_thread).start()
    got = [chunk async for chunk in call.frames()]
    assert [c.pcm for c in got] == frames and [c.timestamp for c in got] == [0, 1, 2, 3, 4]
    assert all(c.rate == 16_000 for c in got)
    assert call.ended and call.remote_ended and call.end_reason == "remote-hangup"
    assert [c async for c in call.frames()] == []  # a second reader ends at once


async def test_a_stuck_consumer_loses_the_oldest_frames_only() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    for i in range(RX_QUEUE_FRAMES + 10):
        call.media_frame(i.to_bytes(2, "little") * (FRAME_BYTES // 2), float(i))
    await until(lambda: call.rx_dropped == 10, "the frames' call_soon_threadsafe callbacks")
    call.set_ended(False, 200, "local-hangup")
    got = [chunk.timestamp async for chunk in call.frames()]
    assert call.rx_dropped == 11  # 10 over the limit, plus one for the end marker
    assert got[-1] == RX_QUEUE_FRAMES + 9 and got == sorted(got)


async def test_after_the_call_ended_play_and_drain_do_nothing() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    call.set_ended(True, 200, "remote-hangup")
    await call.play(AudioChunk(pcm(100), 16_000))
    assert call.outbox.pending() == 0
    assert await call.drain() is None
    await call.hangup()  # idempotent, no SIP stack needed


def test_outbox_tags_only_the_first_frame_of_a_batch() -> None:
    emptied: list[bool] = []
    box = Outbox(lambda: emptied.append(True))
    box.put([b"a", b"b"], 7)
    box.put([b"c"], 0)
    assert box.sent_at(7) is None
    assert box.pop() == b"a"
    at = box.sent_at(7)
    assert at is not None and box.sent_at(7) is None  # read once
    assert box.pop() == b"b" and box.pop() == b"c" and not emptied[1:]
    assert emptied == [True] and box.pop() is None and box.frames_sent == 3
    box.put([b"d", b"e"], 8)
    assert box.clear() == 2 and box.pending() == 0


def test_received_frames_are_read_exactly() -> None:
    import pjsua2 as pj

    from appliance.sip.media import FAST_READ, read_frame

    assert FAST_READ  # the quick copy works with this pjsua2 build
    frame = pj.MediaFrame()
    data = bytes(range(256)) * 2 + bytes(range(128))
    frame.buf = pj.ByteVector(data)
    frame.size = len(data)
    assert read_frame(frame) == data
    frame.buf = pj.ByteVector(data[:100])  # an unexpected size takes the slow path
    assert read_frame(frame) == data[:100]


async def test_stop_playback_before_anything_left_starts_a_new_batch() -> None:
    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    await call.play(AudioChunk(pcm(100), 16_000))
    call.stop_playback()  # barge-in before the first frame left
    await call.play(AudioChunk(pcm(40), 16_000))
    clock = MediaClock(call)
    try:
        first = await asyncio.wait_for(call.drain(), 2)
    finally:
        clock.stop()
    assert first is not None and len(clock.sent) == 2

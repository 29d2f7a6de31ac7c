"""The media port between a call's audio stream and asyncio: 20 ms s16 frames at 16 kHz.

PJSIP calls `onFrameReceived` / `onFrameRequested` from its media clock thread, once
every 20 ms per call. Both callbacks do as little Python work as possible and never
block: received audio is handed to the event loop with `call_soon_threadsafe`, and
outgoing audio is popped from a thread-safe deque (`Outbox`).
"""

from __future__ import annotations

import collections
import ctypes
import logging
import threading
import time
from collections.abc import Callable

import pjsua2 as pj

from appliance.audio import FRAME_MS, PIPELINE_RATE, AudioFormat

logger = logging.getLogger(__name__)

PORT_RATE = PIPELINE_RATE  # Hz of the port (the conference bridge resamples to the codec)
PORT_FORMAT = AudioFormat(PORT_RATE)
FRAME_BYTES = PORT_FORMAT.frame_bytes(FRAME_MS)  # 640 bytes per 20 ms frame
SILENCE = bytes(FRAME_BYTES)

FrameSink = Callable[[bytes, float], None]  # (pcm, monotonic s); called on the media thread

_Span = ctypes.c_size_t * 2  # libstdc++ std::vector<unsigned char>: begin, end pointers


def _read_vector_fast(vec: pj.ByteVector, size: int) -> bytes | None:
    """Copy a SWIG ByteVector's bytes straight from its storage (~3 us instead of ~0.4 ms).

    `bytes(vec)` walks the vector one SWIG call per byte. This reads the vector's
    begin/end pointers instead; it returns None (use the slow path) unless they agree
    with the expected size.
    """
    begin, end = _Span.from_address(int(vec.this))
    if begin == 0 or end - begin != size:
        return None
    return ctypes.string_at(begin, size)


def _fast_path_works() -> bool:
    sample = bytes(range(256)) * 2 + bytes(range(128))
    try:
        return _read_vector_fast(pj.ByteVector(sample), len(sample)) == sample
    except (TypeError, ValueError, AttributeError):
        return False


FAST_READ = _fast_path_works()


def read_frame(frame: pj.MediaFrame) -> bytes:
    """The PCM of a received frame (FRAME_BYTES long)."""
    vec = frame.buf  # a view of the frame's vector, not a copy
    if FAST_READ and (data := _read_vector_fast(vec, FRAME_BYTES)) is not None:
        return data
    return bytes(vec)


class Outbox:
    """Outgoing 20 ms frames, shared by the event loop (producer) and the media thread.

    A frame may carry a batch number (> 0): the first frame of the audio queued since
    the previous `drain()`. When the media thread hands that frame to PJSIP it records
    the monotonic time, so the session can measure when its reply first left the port.
    """

    def __init__(self, on_empty: Callable[[], None]) -> None:
        self._frames: collections.deque[tuple[bytes, int]] = collections.deque()
        self._sent: dict[int, float] = {}  # batch -> monotonic s its first frame left
        self._lock = threading.Lock()
        self._on_empty = on_empty  # called on the media thread when the last frame left
        self.frames_sent = 0

    def put(self, frames: list[bytes], batch: int) -> None:
        """Queue frames; the first one is tagged with `batch` (0: no tag)."""
        with self._lock:
            for i, frame in enumerate(frames):
                self._frames.append((frame, batch if i == 0 else 0))

    def pop(self) -> bytes | None:
        """Next frame for PJSIP (media thread), or None when nothing is queued."""
        with self._lock:
            if not self._frames:
                return None
            frame, batch = self._frames.popleft()
            if batch:
                self._sent[batch] = time.monotonic()
            emptied = not self._frames
            self.frames_sent += 1
        if emptied:
            self._on_empty()
        return frame

    def clear(self) -> int:
        """Drop everything queued; returns how many frames were dropped."""
        with self._lock:
            dropped = len(self._frames)
            self._frames.clear()
        return dropped

    def pending(self) -> int:
        with self._lock:
            return len(self._frames)

    def was_sent(self, batch: int) -> bool:
        with self._lock:
            return batch in self._sent

    def sent_at(self, batch: int) -> float | None:
        """When the first frame of `batch` left (and forget it), or None if it never did."""
        with self._lock:
            return self._sent.pop(batch, None)


def port_format() -> pj.MediaFormatAudio:
    fmt = pj.MediaFormatAudio()
    fmt.type = pj.PJMEDIA_TYPE_AUDIO
    fmt.clockRate = PORT_RATE
    fmt.channelCount = 1
    fmt.bitsPerSample = 16
    fmt.frameTimeUsec = FRAME_MS * 1000
    return fmt


class FramePort(pj.AudioMediaPort):  # type: ignore[misc]
    """An AudioMediaPort that feeds a sink and plays from an Outbox while bound to a call."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._binding: tuple[FrameSink, Outbox] | None = None  # swapped atomically
        self._silence = pj.ByteVector(SILENCE)
        self._failed = False  # log a callback failure once per port, not 50 times a second
        self.createPort(name, port_format())

    def bind(self, sink: FrameSink, outbox: Outbox) -> None:
        self._failed = False
        self._binding = (sink, outbox)

    def unbind(self) -> None:
        self._binding = None

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        try:
            binding = self._binding
            if binding is None:
                return
            now = time.monotonic()
            if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size == FRAME_BYTES:
                pcm = read_frame(frame)
            else:
                pcm = SILENCE
            binding[0](pcm, now)
        except BaseException as exc:
            self._report("media-rx-failed", exc)

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        try:
            binding = self._binding
            data = None if binding is None else binding[1].pop()
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = self._silence if data is None else pj.ByteVector(data)
            frame.size = FRAME_BYTES
        except BaseException as exc:
            self._report("media-tx-failed", exc)

    def _report(self, code: str, exc: BaseException) -> None:
        try:
            if not self._failed:
                self._failed = True
                logger.error(
                    "media callback failed",
                    extra={"code": code, "error": type(exc).__name__, "stage": "telephony"},
                )
        except BaseException:  # noqa: S110 (nothing may propagate into the media thread)
            pass


class PortPool:
    """FramePorts for calls: reused from call to call, never destroyed (endpoint thread only).

    PJSIP 2.15's conference bridge removes ports asynchronously, on its clock thread.
    Deleting an AudioMediaPort (which frees the C++ object at once; SWIG releases the
    GIL while it does) let the clock call into a half-destroyed port: a segfault under
    load. So ports are disowned to C++ and kept for the life of the process; an idle
    port has no connections and gets no callbacks. pjsua tears them out of the bridge
    in libDestroy(). The cost is one small port per concurrent call, per Endpoint.
    """

    def __init__(self) -> None:
        self._free: list[FramePort] = []
        self._count = 0

    def acquire(self, sink: FrameSink, outbox: Outbox) -> FramePort:
        port = self._free.pop() if self._free else self._create()
        port.bind(sink, outbox)
        return port

    def release(self, port: FramePort) -> None:
        port.unbind()
        self._free.append(port)

    def close(self) -> None:
        for port in self._free:
            port.unbind()
        self._free.clear()

    def _create(self) -> FramePort:
        self._count += 1
        port = FramePort(f"appliance{self._count}")
        port.__disown__()  # C++ owns it now: Python's GC can never delete it
        return port

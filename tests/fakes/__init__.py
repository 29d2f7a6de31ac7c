"""Scripted fakes at the Protocol seams (unit tests only; the store is never faked)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from appliance.audio import AudioChunk
from appliance.domain import CallId, ChatMessage, Transcript, Utterance
from appliance.errors import TextToSpeechError

RATE = 16_000
FRAME = bytes(640)  # 20 ms of silence at 16 kHz


def tone(ms: int, level: int = 8000) -> AudioChunk:
    """Non-silent PCM of `ms` milliseconds (a square wave) so playback can be measured."""
    n = RATE * ms // 1000
    pcm = b"".join(
        (level if (i // 20) % 2 else -level).to_bytes(2, "little", signed=True) for i in range(n)
    )
    return AudioChunk(pcm, RATE)


class FakeCall:
    """A call whose caller 'speaks' whenever the session listens; records what is played."""

    def __init__(self, frames: int = 10_000, codec: str = "PCMU", realtime: bool = False) -> None:
        self._realtime = realtime  # drain() takes as long as the queued audio lasts
        self.call_id = CallId("fake-call")
        self.rate = RATE
        self.codec = codec
        self._frames = frames
        self.played: list[AudioChunk] = []
        self.segments: list[int] = []  # bytes played per drain()
        self._pending = 0
        self.hung_up = False
        self.stopped_playback = 0
        self._gone = asyncio.Event()

    async def frames(self) -> AsyncIterator[AudioChunk]:
        for _ in range(self._frames):
            if self.hung_up or self._gone.is_set():
                return
            await asyncio.sleep(0.0005)
            yield AudioChunk(FRAME, RATE, time.monotonic())

    def caller_hangs_up(self) -> None:
        self._gone.set()

    async def play(self, chunk: AudioChunk) -> None:
        self.played.append(chunk)
        self._pending += len(chunk.pcm)

    async def drain(self) -> float | None:
        if self._pending and self._realtime:
            await asyncio.sleep(self._pending / 2 / RATE)
        sent, self._pending = self._pending, 0
        if sent:
            self.segments.append(sent)
        return time.monotonic() if sent else None

    def stop_playback(self) -> None:
        self.stopped_playback += 1
        self._pending = 0

    async def hangup(self) -> None:
        self.hung_up = True


class FakeDetector:
    """Ends a turn after `every` frames fed."""

    def __init__(self, every: int = 5) -> None:
        self._every = every
        self._count = 0
        self._start = 0.0

    def feed(self, chunk: AudioChunk) -> Utterance | None:
        if self._count == 0:
            self._start = chunk.timestamp
        self._count += 1
        if self._count < self._every:
            return None
        self._count = 0
        audio = AudioChunk(FRAME * self._every, RATE)
        return Utterance(audio, self._start, chunk.timestamp, time.monotonic())

    def reset(self) -> None:
        self._count = 0


class FakeStt:
    """Returns the scripted lines in order; an ApplianceError/Exception item is raised."""

    def __init__(self, lines: Sequence[str | BaseException], delay: float = 0.0) -> None:
        self._lines = list(lines)
        self._delay = delay
        self.calls = 0

    async def transcribe(self, utterance: Utterance) -> Transcript:
        self.calls += 1
        await asyncio.sleep(self._delay)
        item = self._lines.pop(0) if self._lines else "goodbye"
        if isinstance(item, BaseException):
            raise item
        return Transcript(item, "en", -0.2, 0.01, utterance.audio.duration)


class FakeTts:
    """Synthesizes 100 ms of tone per sentence; fails on texts containing `fail_on`."""

    rate = RATE

    def __init__(self, fail_on: str | None = None) -> None:
        self._fail_on = fail_on
        self.texts: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        if self._fail_on and self._fail_on in text:
            raise TextToSpeechError("tts-failed", "scripted failure")
        await asyncio.sleep(0)
        yield tone(100)


class FakeLlm:
    """Streams scripted replies word by word; an exception item is raised mid-stream."""

    def __init__(self, replies: Sequence[str | BaseException], delay: float = 0.0) -> None:
        self._replies = list(replies)
        self._delay = delay
        self.requests: list[list[ChatMessage]] = []

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        self.requests.append(list(messages))
        item = self._replies.pop(0) if self._replies else "All right."
        await asyncio.sleep(self._delay)
        if isinstance(item, BaseException):
            raise item
        for word in item.split(" "):
            yield word + " "

    async def ready(self) -> bool:
        return True


class FakeClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Observed:
    """A SessionObserver that remembers what it saw."""

    def __init__(self) -> None:
        self.stages: dict[str, list[float]] = {}
        self.failures: list[tuple[str, str]] = []
        self.outcomes: list[str] = []
        self.active = 0

    def call_started(self) -> None:
        self.active += 1

    def call_ended(self, outcome: str) -> None:
        self.active -= 1
        self.outcomes.append(outcome)

    def stage_time(self, stage: str, seconds: float) -> None:
        self.stages.setdefault(stage, []).append(seconds)

    def stage_failed(self, stage: str, code: str) -> None:
        self.failures.append((stage, code))

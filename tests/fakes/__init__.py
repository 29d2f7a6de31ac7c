"""Scripted fakes at the Protocol seams, on virtual time (unit tests only; the store is real).

Everything waits on a `FakeClock`; `FakeClock.run(coro)` advances virtual time whenever the
tasks it runs have nothing else to do, so a 60 s call runs deterministically in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import AsyncIterator, Awaitable, Coroutine, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from appliance.audio import AudioChunk
from appliance.domain import CallId, ChatMessage, Transcript, Utterance
from appliance.errors import TextToSpeechError
from appliance.ports import DtmfDigit

T = TypeVar("T")
RATE = 16_000
FRAME_S = 0.02  # s per caller frame
FRAME = bytes(640)  # 20 ms of silence at 16 kHz
_VOICE = b"".join(
    (8000 if (i // 20) % 2 else -8000).to_bytes(2, "little", signed=True) for i in range(320)
)  # 20 ms of a square wave: "speech" for the fake detector


def tone(ms: int) -> AudioChunk:
    """Non-silent PCM of `ms` milliseconds (multiples of 20 ms) so playback can be measured."""
    return AudioChunk(_VOICE * max(1, ms // 20), RATE)


class FakeClock:
    """Virtual monotonic/wall time; `sleep` returns when `run` advances time past it.

    Idleness is seen through public asyncio API only: while `run` is active, the loop's
    task factory wraps each new task's coroutine in `_Stepped`, which counts the steps
    tasks take. Time advances once several loop iterations in a row passed with no step
    of any other task and no real work (`busy`) in flight.
    """

    EPOCH = 1_700_000_000.0  # wall time at monotonic 0
    IDLE_ROUNDS = 4  # loop iterations without a step before the loop counts as idle
    # (a finished task wakes its awaiter through a few plain callbacks: gather, shield
    # and wait each add one iteration without a step; none of our chains is deeper)

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._busy = 0  # work outside virtual time (the store's thread) in flight
        self._steps = 0  # steps taken by tasks created under `run` (not the runner's own)
        self._runner: asyncio.Task[Any] | None = None  # the task inside `run`

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._timers, (self.now + seconds, self._seq, future))
        await future

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Virtual time stands still while real work (a thread) is in flight."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1

    async def run(self, work: Awaitable[T], limit_s: float = 600.0) -> T:
        """Await `work`, jumping virtual time to the next timer whenever the loop is idle."""
        with self._counting_steps():
            task = asyncio.ensure_future(work)
            try:
                await self._advance_until_done(task, self.now + limit_s, limit_s)
            finally:
                if not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        return task.result()

    async def _advance_until_done(
        self, task: asyncio.Future[T], end: float, limit_s: float
    ) -> None:
        while not task.done():
            await self._settle()
            if task.done():
                break
            while self._timers and self._timers[0][2].done():
                heapq.heappop(self._timers)
            if not self._timers:
                raise RuntimeError("virtual deadlock: waiting with no timer pending")
            deadline, _, future = heapq.heappop(self._timers)
            if deadline > end:
                raise TimeoutError(f"still running after {limit_s} virtual s")
            self.now = max(self.now, deadline)
            future.set_result(None)

    @contextlib.contextmanager
    def _counting_steps(self) -> Iterator[None]:
        """Install a task factory that counts task steps (restored afterwards)."""
        loop = asyncio.get_running_loop()
        previous, runner = loop.get_task_factory(), self._runner
        self._runner = asyncio.current_task()

        def factory(
            loop: asyncio.AbstractEventLoop, coro: Any, context: Any = None
        ) -> asyncio.Future[Any]:
            stepped = _Stepped(coro, self)
            if previous is not None:
                if context is None:
                    return previous(loop, stepped)
                return previous(loop, stepped, context=context)  # type: ignore[call-arg]
            return asyncio.Task(stepped, loop=loop, context=context)

        loop.set_task_factory(factory)
        try:
            yield
        finally:
            loop.set_task_factory(previous)
            self._runner = runner

    def _stepped(self) -> None:
        if asyncio.current_task() is not self._runner:
            self._steps += 1

    async def _settle(self) -> None:
        """Return once no task has run for IDLE_ROUNDS iterations and no real work is in
        flight."""
        idle = 0
        while idle < self.IDLE_ROUNDS:
            steps = self._steps
            await asyncio.sleep(0)
            if self._busy:
                await asyncio.sleep(0.0005)  # real time: let the store's thread finish
                idle = 0
            elif self._steps != steps:
                idle = 0
            else:
                idle += 1


class _Stepped(Coroutine[Any, Any, Any]):
    """A task's coroutine that tells its clock each time the task takes a step."""

    def __init__(self, inner: Coroutine[Any, Any, Any], clock: FakeClock) -> None:
        self._inner = inner
        self._clock = clock
        self.__qualname__ = getattr(inner, "__qualname__", type(inner).__qualname__)

    def send(self, value: Any) -> Any:
        self._clock._stepped()
        return self._inner.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._clock._stepped()
        if val is None and tb is None:
            return self._inner.throw(typ)
        return self._inner.throw(typ, val, tb)

    def close(self) -> None:
        self._inner.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._inner.__await__()


class ClockedRecorder:
    """The real CallRecorder (the store), with virtual time held while its thread writes."""

    def __init__(self, inner: Any, clock: FakeClock) -> None:
        self._inner = inner
        self._clock = clock

    async def _held(self, work: Awaitable[T]) -> T:
        async def held() -> T:
            with self._clock.busy():
                return await work

        return await asyncio.shield(held())

    async def start_call(self, *args: Any) -> None:
        await self._held(self._inner.start_call(*args))

    async def add_turn(self, *args: Any) -> int:
        return int(await self._held(self._inner.add_turn(*args)))

    async def end_call(self, *args: Any) -> None:
        await self._held(self._inner.end_call(*args))

    async def add_event(self, *args: Any) -> None:
        await self._held(self._inner.add_event(*args))


@dataclass(frozen=True, slots=True)
class Speech:
    """One burst of caller speech, `at` s after the call was answered, `seconds` long."""

    at: float
    seconds: float


class FakeCall:
    """A caller on virtual time.

    The caller speaks the scripted `timeline`, and besides answers `answers` times: each
    time the agent has spoken and then been silent for `wait_s`, the caller speaks for
    `answer_s` (like `appliance call`). `hangup_at` (s after answer) ends the call from the
    caller's side. Agent audio plays out in real (virtual) time; `spans` are the
    [start, end] monotonic intervals the caller actually heard.
    """

    def __init__(
        self,
        clock: FakeClock,
        timeline: Sequence[Speech] = (),
        answers: int = 0,
        wait_s: float = 0.5,
        answer_s: float = 1.0,
        hangup_at: float | None = None,
        codec: str = "PCMU",
    ) -> None:
        self.call_id = CallId("fake-call")
        self.rate = RATE
        self.codec = codec
        self.remote = "+15550100001"  # the caller's number (PHI in real calls)
        self._clock = clock
        self._timeline = list(timeline)
        self._answers = answers
        self._wait_s = wait_s
        self._answer_s = answer_s
        self._hangup_at = hangup_at
        self._last_voiced = float("-inf")  # monotonic s: end of the caller's latest speech
        self._audio_end = float("-inf")  # monotonic s when queued agent audio has played out
        self._first_out: float | None = None
        self.played: list[AudioChunk] = []
        self.spans: list[list[float]] = []
        self.stops: list[float] = []  # monotonic s of each stop_playback()
        self.hung_up = False
        self.caller_gone = False
        self.stopped_playback = 0
        self._keys: asyncio.Queue[str] = asyncio.Queue()

    def press(self, digits: str) -> None:
        """The caller presses keypad keys (delivered by `dtmf()` at once)."""
        for digit in digits:
            self._keys.put_nowait(digit)

    async def dtmf(self) -> AsyncIterator[DtmfDigit]:
        while True:
            digit = await self._keys.get()
            yield DtmfDigit(digit, 100, "rfc4733", self._clock.monotonic())

    async def frames(self) -> AsyncIterator[AudioChunk]:
        start = self._clock.monotonic()
        while not self.hung_up:
            await self._clock.sleep(FRAME_S)
            now = self._clock.monotonic()
            t = now - start
            if self.caller_gone or (self._hangup_at is not None and t >= self._hangup_at):
                self.caller_gone = True
                return
            self._maybe_answer(t, now)
            voiced = any(s.at <= t - FRAME_S < s.at + s.seconds for s in self._timeline)
            if voiced:
                self._last_voiced = now
            yield AudioChunk(_VOICE if voiced else FRAME, RATE, now - FRAME_S)

    def _maybe_answer(self, t: float, now: float) -> None:
        """Answer once the agent spoke after the caller and both were quiet for `wait_s`."""
        quiet_since = max(self._audio_end, self._last_voiced)
        if (
            self._answers
            and self._audio_end > self._last_voiced
            and now - quiet_since >= self._wait_s
        ):
            self._answers -= 1
            self._last_voiced = now
            self._timeline.append(Speech(t, self._answer_s))

    def caller_hangs_up(self) -> None:
        self.caller_gone = True

    @property
    def agent_audio_playing(self) -> bool:
        return self._clock.monotonic() < self._audio_end

    async def play(self, chunk: AudioChunk) -> None:
        now = self._clock.monotonic()
        self.played.append(chunk)
        if now >= self._audio_end:
            self._audio_end = now
            self.spans.append([now, now])
            if self._first_out is None:
                self._first_out = now
        self._audio_end += chunk.duration
        self.spans[-1][1] = self._audio_end

    async def drain(self) -> float | None:
        while (left := self._audio_end - self._clock.monotonic()) > 0:
            await self._clock.sleep(min(FRAME_S, left))
        first, self._first_out = self._first_out, None
        return first

    def stop_playback(self) -> None:
        now = self._clock.monotonic()
        self.stopped_playback += 1
        self.stops.append(now)
        if now < self._audio_end:
            self._audio_end = now
            self.spans[-1][1] = now
        self._first_out = None

    async def hangup(self) -> None:
        self.hung_up = True

    async def transfer(
        self, uri: str, headers: dict[str, str] | None = None, within: float = 20.0
    ) -> Any:
        """No desk behind this fake: refused at once (TransferringCall has one)."""
        from appliance.sip.transfer import TransferResult

        return TransferResult(False, None, "failed")

    async def attended_transfer(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        return await self.transfer(uri)

    def heard_seconds(self) -> float:
        return sum(end - start for start, end in self.spans)


class FakeDetector:
    """Energy VAD on virtual time: speech after `min_speech_s` voiced, turn ends after silence."""

    def __init__(
        self, clock: FakeClock, min_speech_s: float = 0.2, min_silence_s: float = 0.3
    ) -> None:
        self._clock = clock
        self._min_speech = min_speech_s
        self._min_silence = min_silence_s
        self.reset()

    @property
    def speech_active(self) -> bool:
        return self._active

    @property
    def probability(self) -> float:
        return self._probability

    def tentative(self) -> Utterance | None:
        return None  # no speculative STT (TentativeDetector in the early-STT tests has it)

    def commit(self) -> Utterance | None:
        return None

    def reset(self) -> None:
        self._active = False
        self._probability = 0.0
        self._onset: float | None = None
        self._voiced = 0.0
        self._voice_end = 0.0
        self._audio = bytearray()

    def feed(self, chunk: AudioChunk) -> Utterance | None:
        end = chunk.timestamp + chunk.duration
        self._probability = 1.0 if any(chunk.pcm) else 0.0
        if self._probability:
            if self._onset is None:
                self._onset = chunk.timestamp
            self._voiced += chunk.duration
            self._voice_end = end
            self._audio += chunk.pcm
            self._active = self._active or self._voiced >= self._min_speech - 1e-9
            return None
        if not self._active:
            self.reset()
            return None
        if end - self._voice_end < self._min_silence - 1e-9:
            return None
        assert self._onset is not None
        utterance = Utterance(
            AudioChunk(bytes(self._audio), RATE, self._onset),
            self._onset,
            self._voice_end,
            self._clock.monotonic(),
        )
        self.reset()
        return utterance


class FakeStt:
    """Returns the scripted lines in order after `delay` s; an exception item is raised."""

    def __init__(
        self, clock: FakeClock, lines: Sequence[str | BaseException], delay: float = 0.1
    ) -> None:
        self._clock = clock
        self._lines = list(lines)
        self._delay = delay
        self.calls = 0

    async def transcribe(self, utterance: Utterance) -> Transcript:
        self.calls += 1
        await self._clock.sleep(self._delay)
        item = self._lines.pop(0) if self._lines else "goodbye"
        if isinstance(item, BaseException):
            raise item
        return Transcript(item, "en", -0.2, 0.01, utterance.audio.duration)


class FakeTts:
    """`word_s` s of tone per word after `delay` s; fails on texts containing `fail_on`."""

    rate = RATE

    def __init__(
        self,
        clock: FakeClock,
        fail_on: str | None = None,
        delay: float = 0.05,
        word_s: float = 0.3,
    ) -> None:
        self._clock = clock
        self._fail_on = fail_on
        self._delay = delay
        self._word_s = word_s
        self.texts: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        await self._clock.sleep(self._delay)
        if self._fail_on and self._fail_on in text:
            raise TextToSpeechError("tts-failed", "scripted failure")
        yield tone(int(1000 * self._word_s * max(1, len(text.split()))))


class FakeLlm:
    """Streams scripted replies word by word, `token_s` apart after `delay` s.

    An exception item is raised instead of a reply.
    """

    def __init__(
        self,
        clock: FakeClock,
        replies: Sequence[str | BaseException],
        delay: float = 0.2,
        token_s: float = 0.02,
    ) -> None:
        self._clock = clock
        self._replies = list(replies)
        self._delay = delay
        self._token_s = token_s
        self.requests: list[list[ChatMessage]] = []

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        self.requests.append(list(messages))
        item = self._replies.pop(0) if self._replies else "All right."
        await self._clock.sleep(self._delay)
        if isinstance(item, BaseException):
            raise item
        for word in item.split(" "):
            yield word + " "
            await self._clock.sleep(self._token_s)

    async def ready(self) -> bool:
        return True


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


async def session_deps(
    clock: FakeClock,
    recorder: Any,
    stt: FakeStt,
    llm: FakeLlm | None,
    tts: FakeTts | None = None,
    timeout: float = 5.0,
    **policy: Any,
) -> tuple[Any, Observed]:
    """SessionDeps of fakes on `clock` with the real store; `policy` overrides [conversation]
    settings (the defaults are the appliance's: the fast barge-in pause is on)."""
    from appliance.config import Conversation
    from appliance.conversation.prompts import PromptCache, clinic_prompts
    from appliance.conversation.session import SessionDeps
    from appliance.llm.agent import LlmAgent

    prompts = clinic_prompts("Test Clinic", "weekdays 8 to 5")
    tts = tts or FakeTts(clock)
    cache = PromptCache()
    await clock.run(cache.prepare(tts, PromptCache.for_prompts(prompts)))
    tts.texts.clear()
    observed = Observed()
    deps = SessionDeps(
        stt=stt,
        tts=tts,
        agent=LlmAgent(llm, prompts.system),
        new_detector=lambda: FakeDetector(clock),
        recorder=ClockedRecorder(recorder, clock),
        cache=cache,
        observer=observed,
        clock=clock,
        stage_timeout_s=timeout,
        conversation=Conversation(**policy),
    )
    return deps, observed

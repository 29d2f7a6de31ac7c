"""One call: greet, then listen -> transcribe -> think -> speak, until goodbye or hang-up.

Stages are joined by typed data. Any stage failure becomes a coded error; the
caller then hears the cached apology and the call ends politely (never dead air).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from appliance.audio import AudioChunk
from appliance.conversation.prompts import PromptCache, Prompts
from appliance.conversation.sentences import clean, split_ready
from appliance.domain import (
    CallState,
    ChatMessage,
    SessionEvent,
    Speaker,
    TurnTimings,
    Utterance,
)
from appliance.errors import (
    ApplianceError,
    ChatModelError,
    SpeechToTextError,
    TextToSpeechError,
)
from appliance.ports import (
    CallHandle,
    CallRecorder,
    ChatModel,
    Clock,
    EndOfTurnDetector,
    SessionObserver,
    SpeechToText,
    TextToSpeech,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

_GOODBYE = re.compile(r"\b(good\s?-?bye|bye|that'?s all|hang up)\b", re.IGNORECASE)


async def _paced(items: AsyncIterator[T], gap_s: float, error: ApplianceError) -> AsyncIterator[T]:
    """Re-yield `items`, raising `error` if any single item takes longer than `gap_s`."""
    iterator = aiter(items)
    while True:
        try:
            async with asyncio.timeout(gap_s):
                item = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise error from exc
        yield item


def is_goodbye(text: str) -> bool:
    return _GOODBYE.search(text) is not None


@dataclass(frozen=True, slots=True)
class SessionDeps:
    stt: SpeechToText
    tts: TextToSpeech
    llm: ChatModel
    new_detector: Callable[[], EndOfTurnDetector]
    recorder: CallRecorder
    prompts: Prompts
    cache: PromptCache
    observer: SessionObserver
    clock: Clock
    stage_timeout_s: float = 20.0  # s, for each of STT, LLM+TTS
    max_history: int = 8  # chat messages kept for context
    no_speech_threshold: float = 0.8  # Whisper no_speech_prob above which a turn is ignored


@dataclass(slots=True)
class _Turn:
    anchor: float  # monotonic s: end of the caller's speech
    timings: TurnTimings = field(default_factory=TurnTimings)


class CallSession:
    """Runs one call to its end; returns "completed", "caller-hung-up" or "failed"."""

    def __init__(self, call: CallHandle, deps: SessionDeps) -> None:
        self._call = call
        self._d = deps
        self._queue: asyncio.Queue[Utterance | ApplianceError | None] = asyncio.Queue()
        self._listening = False
        self._listen_from = 0.0
        self._ended = asyncio.Event()
        self._history: list[ChatMessage] = []
        self.state = CallState.GREET
        self.events: list[SessionEvent] = []

    # --- lifecycle ---------------------------------------------------------------

    async def run(self) -> str:
        d, call_id = self._d, self._call.call_id
        self._started = d.clock.monotonic()
        await d.recorder.start_call(call_id, d.clock.time(), self._call.codec, "")
        d.observer.call_started()
        self._event("answered")
        listener = asyncio.create_task(self._listen(), name=f"listen-{call_id}")
        outcome = "failed"
        try:
            outcome = await self._race(self._converse())
        except ApplianceError as exc:
            await self._fail(exc)
        except Exception as exc:  # any crash must end in an apology
            await self._fail(ApplianceError("session-failed", type(exc).__name__))
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            self.state = CallState.END
            self._event("ended", code=outcome)
            await asyncio.shield(d.recorder.end_call(call_id, d.clock.time(), outcome))
            d.observer.call_ended(outcome)
        return outcome

    async def _race(self, work: Awaitable[str]) -> str:
        """Run `work` until it finishes or the caller hangs up, whichever is first."""
        task = asyncio.ensure_future(work)
        ended = asyncio.create_task(self._ended.wait())
        done, _ = await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ended.cancel()
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return "caller-hung-up"

    async def _listen(self) -> None:
        detector = self._d.new_detector()
        try:
            async for chunk in self._call.frames():
                if not self._listening or chunk.timestamp < self._listen_from:
                    continue
                utterance = detector.feed(chunk)
                if utterance is not None:
                    self._listening = False
                    detector.reset()
                    self._queue.put_nowait(utterance)
        except ApplianceError as exc:
            self._queue.put_nowait(exc)
            return
        self._ended.set()
        self._queue.put_nowait(None)

    # --- conversation ------------------------------------------------------------

    async def _converse(self) -> str:
        first = await self._say("greeting", self._d.prompts.greeting, anchor=self._started)
        if first is not None:
            delay = first - self._started
            self._d.observer.stage_time("greeting_first_audio", delay)
            self._event("greeted", timings={"first_audio_out": delay})
        while True:
            self.state = CallState.LISTEN
            self._listen_from = self._d.clock.monotonic()
            self._listening = True
            item = await self._queue.get()
            if item is None:
                return "caller-hung-up"
            if isinstance(item, ApplianceError):
                raise item
            if await self._turn(item):
                return "completed"

    async def _turn(self, utterance: Utterance) -> bool:
        """Handle one caller turn; True when the call is over."""
        d, turn = self._d, _Turn(anchor=utterance.speech_end)
        turn.timings.end_of_turn = utterance.detected_at - turn.anchor
        self.state = CallState.THINK
        transcript = await self._stage(
            d.stt.transcribe(utterance),
            SpeechToTextError("stt-timeout", "transcription took too long"),
        )
        turn.timings.stt_done = d.clock.monotonic() - turn.anchor
        text = transcript.text.strip()
        if not text or transcript.no_speech_prob > d.no_speech_threshold:
            self._event("not-heard")
            await self._say("not_heard", d.prompts.not_heard)
            return False
        await d.recorder.add_turn(
            self._call.call_id,
            Speaker.CALLER,
            text,
            self._wall(utterance.speech_start),
            self._wall(utterance.speech_end),
            turn.timings.as_dict(),
            transcript.avg_logprob,
        )
        self._event("heard", timings=turn.timings.as_dict())
        if is_goodbye(text):
            await self._say("goodbye", d.prompts.goodbye)
            await self._call.hangup()
            return True
        reply = await self._reply(text, turn)
        self._finish_turn(turn, reply)
        return False

    def _finish_turn(self, turn: _Turn, reply: str) -> None:
        t = turn.timings
        for stage, value in (
            ("end_of_turn", t.end_of_turn),
            ("stt", t.stt_done),
            ("llm_first_token", t.llm_first_token),
            ("first_sentence", t.first_sentence),
            ("tts_first_audio", t.tts_first_audio),
            ("turn_gap", t.first_audio_out),
        ):
            if value is not None:
                self._d.observer.stage_time(stage, value)
        self._event("replied", timings=t.as_dict())
        logger.info(
            "turn",
            extra={"call_id": self._call.call_id, "stage": "turn", "timings": t.as_dict()},
        )
        _ = reply

    async def _reply(self, text: str, turn: _Turn) -> str:
        d = self._d
        user = ChatMessage("user", text)
        messages = [ChatMessage("system", d.prompts.system), *self._history, user]
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        producer = asyncio.create_task(self._think(messages, sentences, turn))
        started = d.clock.time()
        try:
            spoken, seconds = await self._speak(sentences, turn)
        finally:
            if not producer.done():
                producer.cancel()
        await producer
        if not spoken:
            raise ChatModelError("llm-empty-reply", "the language model returned no text")
        first_out = await self._drain(seconds)
        if first_out is not None:
            turn.timings.first_audio_out = first_out - turn.anchor
        reply = " ".join(spoken)
        self._history = [*self._history, user, ChatMessage("assistant", reply)][-d.max_history :]
        await d.recorder.add_turn(
            self._call.call_id,
            Speaker.AGENT,
            reply,
            started,
            d.clock.time(),
            turn.timings.as_dict(),
        )
        return reply

    async def _think(
        self, messages: list[ChatMessage], out: asyncio.Queue[str | None], turn: _Turn
    ) -> None:
        clock, t, buffer = self._d.clock, turn.timings, ""
        try:
            async for delta in _paced(
                self._d.llm.stream(messages),
                self._d.stage_timeout_s,
                ChatModelError("llm-timeout", "the language model stopped answering"),
            ):
                if t.llm_first_token is None:
                    t.llm_first_token = clock.monotonic() - turn.anchor
                buffer += delta
                ready, buffer = split_ready(buffer)
                for sentence in ready:
                    if t.first_sentence is None:
                        t.first_sentence = clock.monotonic() - turn.anchor
                    out.put_nowait(sentence)
            if tail := clean(buffer):
                if t.first_sentence is None:
                    t.first_sentence = clock.monotonic() - turn.anchor
                out.put_nowait(tail)
        finally:
            out.put_nowait(None)

    async def _speak(
        self, sentences: asyncio.Queue[str | None], turn: _Turn
    ) -> tuple[list[str], float]:
        """Synthesize and queue each sentence; return them and the seconds of audio queued."""
        self.state = CallState.SPEAK
        spoken: list[str] = []
        seconds = 0.0
        timeout = self._d.stage_timeout_s
        while (sentence := await sentences.get()) is not None:
            late = TextToSpeechError("tts-timeout", "speech synthesis took too long")
            async with contextlib.aclosing(self._d.tts.synthesize(sentence)) as audio:
                async for chunk in _paced(audio, timeout, late):
                    if turn.timings.tts_first_audio is None:
                        turn.timings.tts_first_audio = self._d.clock.monotonic() - turn.anchor
                    await self._call.play(chunk)
                    seconds += chunk.duration
            spoken.append(sentence)
        return spoken, seconds

    async def _drain(self, seconds: float) -> float | None:
        """Wait for queued audio to be sent, allowing its duration plus a margin."""
        try:
            async with asyncio.timeout(seconds + self._d.stage_timeout_s):
                return await self._call.drain()
        except TimeoutError as exc:
            raise ApplianceError("playback-stalled", "queued audio was not sent") from exc

    async def _say(self, key: str, text: str, anchor: float | None = None) -> float | None:
        """Play a cached prompt to the end; record it as an agent turn.

        With `anchor` (monotonic s), the delay until its first frame left is recorded.
        """
        self.state = CallState.SPEAK
        chunks: list[AudioChunk] = self._d.cache.get(key) or []
        started = self._d.clock.time()
        for chunk in chunks:
            await self._call.play(chunk)
        first = await self._drain(sum(c.duration for c in chunks))
        timings: dict[str, float | None] = {}
        if anchor is not None and first is not None:
            timings["first_audio_out"] = first - anchor
        await self._d.recorder.add_turn(
            self._call.call_id, Speaker.AGENT, text, started, self._d.clock.time(), timings
        )
        return first

    async def _stage(self, work: Awaitable[T], error: ApplianceError) -> T:
        try:
            async with asyncio.timeout(self._d.stage_timeout_s):
                return await work
        except TimeoutError as exc:
            raise error from exc

    # --- failure -----------------------------------------------------------------

    async def _fail(self, exc: ApplianceError) -> None:
        d, call_id = self._d, self._call.call_id
        logger.error(
            "stage failed",
            extra={"call_id": call_id, "stage": exc.stage, "code": exc.code},
        )
        self._event("stage-failed", stage=exc.stage, code=exc.code)
        d.observer.stage_failed(exc.stage, exc.code)
        await asyncio.shield(
            d.recorder.add_event(call_id, "stage-failed", exc.stage, exc.code, d.clock.time())
        )
        if self._ended.is_set():
            return
        try:
            self._call.stop_playback()
            async with asyncio.timeout(30.0):
                await self._say("apology", d.prompts.apology)
            await self._call.hangup()
        except (ApplianceError, TimeoutError) as again:
            code = getattr(again, "code", "apology-timeout")
            logger.error("apology failed", extra={"call_id": call_id, "code": code})
            await self._call.hangup()

    # --- helpers -----------------------------------------------------------------

    def _wall(self, monotonic: float) -> float:
        clock = self._d.clock
        return clock.time() - (clock.monotonic() - monotonic)

    def _event(
        self,
        kind: str,
        stage: str | None = None,
        code: str | None = None,
        timings: dict[str, float | None] | None = None,
    ) -> None:
        self.events.append(
            SessionEvent(self._call.call_id, kind, self._d.clock.time(), stage, code, timings or {})
        )

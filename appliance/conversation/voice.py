"""The agent's voice in one call: every sound it makes, and what the caller may cut.

`AgentVoice` owns the call's `Playout` (pause/resume for barge-in) and the filler, plays
cached prompts by `Prompt` key (`say`), synthesizes replies sentence by sentence
(`speak`) and records each as an agent turn. Its `state` says whether agent audio is
going out and whether caller speech may cut it: the barge-in decisions read it.
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum

from appliance.conversation.events import CallEvents
from appliance.conversation.filler import Filler
from appliance.conversation.playout import Playout
from appliance.conversation.prompts import Prompt
from appliance.conversation.replies import Turn
from appliance.conversation.settings import SessionDeps
from appliance.conversation.timing import paced, within
from appliance.domain import EventKind, Speaker
from appliance.errors import ApplianceError, TextToSpeechError
from appliance.ports import CallHandle


class VoiceState(StrEnum):
    QUIET = "quiet"  # no agent audio queued or going out
    PROTECTED = "protected"  # audio the caller cannot cut (greeting, goodbye, apology)
    CUTTABLE = "cuttable"  # replies, filler, re-prompts: caller speech stops them


class AgentVoice:
    """Plays prompts and replies through the call's `Playout`, recording each."""

    def __init__(self, call: CallHandle, deps: SessionDeps, events: CallEvents) -> None:
        self._call = call
        self._d = deps
        self._events = events
        self.out = Playout(call, deps.clock)  # all agent audio: pause/resume for barge-in
        self.state = VoiceState.QUIET
        self.filler = Filler(
            self.out,
            deps.clock,
            deps.cache.get(Prompt.FILLER),
            self._filler_started,
            self.quiet,
            deps.conversation.filler_every_s,
        )

    @property
    def playing(self) -> bool:
        return self.state is not VoiceState.QUIET

    @property
    def can_cut(self) -> bool:
        return self.state is VoiceState.CUTTABLE

    def quiet(self) -> None:
        self.state = VoiceState.QUIET

    def stop(self) -> None:
        """Drop all queued and held audio at once (barge-in, failure, end of a hold)."""
        self.out.stop()
        self.state = VoiceState.QUIET

    async def say(
        self, key: Prompt, anchor: float | None = None, *, interruptible: bool = False
    ) -> float | None:
        """Play a cached prompt to the end; record it as an agent turn.

        With `anchor` (monotonic s), the delay until its first frame left is recorded.
        Protected prompts (`interruptible=False`) are never cut by caller speech. A prompt
        with no cached audio raises `PromptError` before anything is played or recorded
        (start-up makes sure there is none).
        """
        cache, clock = self._d.cache, self._d.clock
        chunks, text = cache.get(key), cache.text(key)
        await self.filler.disarm(wait=False)
        started = clock.time()
        self._start(interruptible)
        try:
            for chunk in chunks:
                await self.out.play(chunk)
            first = await self.drain(sum(c.duration for c in chunks))
        finally:
            self.quiet()
        timings: dict[str, float | None] = {}
        if anchor is not None and first is not None:
            timings["first_audio_out"] = first - anchor
        await self.record(text, started, timings)
        return first

    async def say_text(self, text: str) -> None:
        """Synthesize `text` (a vetted sentence, not a cached prompt), play it to the end,
        record it."""
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        for item in (text, None):
            sentences.put_nowait(item)
        started = self._d.clock.time()
        _, seconds = await self.speak(sentences, Turn(anchor=self._d.clock.monotonic()))
        await self.drain(seconds)
        self.quiet()
        await self.record(text, started, {})

    async def speak(
        self, sentences: asyncio.Queue[str | None], turn: Turn
    ) -> tuple[list[str], float]:
        """Synthesize and queue each sentence; return them and the seconds of audio queued."""
        spoken: list[str] = []
        seconds = 0.0
        clock, timeout = self._d.clock, self._d.stage_timeout_s
        while (sentence := await sentences.get()) is not None:
            late = TextToSpeechError("tts-timeout", "speech synthesis took too long")
            async with contextlib.aclosing(self._d.tts.synthesize(sentence)) as audio:
                async for chunk in paced(clock, audio, timeout, late):
                    if turn.timings.tts_first_audio is None:
                        turn.timings.tts_first_audio = clock.monotonic() - turn.anchor
                        await self.filler.disarm(wait=True)
                        self._start(interruptible=True)
                        turn.extra["reply_audio_out"] = self.out.next_start() - turn.anchor
                    await self.out.play(chunk)
                    seconds += chunk.duration
            spoken.append(sentence)
        return spoken, seconds

    async def drain(self, seconds: float) -> float | None:
        """Wait for queued audio to be sent, allowing its duration plus a margin."""
        stalled = ApplianceError("playback-stalled", "queued audio was not sent")
        margin = seconds + self._d.stage_timeout_s
        return await within(self._d.clock, margin, self.out.drain(), stalled)

    async def record(self, text: str, started: float, timings: dict[str, float | None]) -> None:
        """Record `text` as an agent turn that started at `started` (UNIX s)."""
        await self._d.recorder.add_turn(
            self._call.call_id, Speaker.AGENT, text, started, self._d.clock.time(), timings
        )

    def _start(self, interruptible: bool) -> None:
        self.state = VoiceState.CUTTABLE if interruptible else VoiceState.PROTECTED

    def _filler_started(self) -> None:
        self._start(interruptible=True)
        self._events.emit(EventKind.FILLER)

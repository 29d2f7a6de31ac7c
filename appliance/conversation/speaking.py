"""Agent audio out of a call session: cached prompts, synthesized replies, filler state."""

from __future__ import annotations

import asyncio
import contextlib

from appliance.audio import AudioChunk
from appliance.conversation.prompts import Prompt
from appliance.conversation.replies import Turn
from appliance.conversation.session_base import SessionBase
from appliance.conversation.timing import paced, within
from appliance.domain import CallState, ChatMessage, Speaker
from appliance.errors import ApplianceError, TextToSpeechError


class SpeakingMixin(SessionBase):
    """Plays prompts and replies through the session's `Playout`, recording each."""

    async def _speak(
        self, sentences: asyncio.Queue[str | None], turn: Turn
    ) -> tuple[list[str], float]:
        """Synthesize and queue each sentence; return them and the seconds of audio queued."""
        self.state = CallState.SPEAK
        spoken: list[str] = []
        seconds = 0.0
        clock, timeout = self._d.clock, self._d.stage_timeout_s
        while (sentence := await sentences.get()) is not None:
            late = TextToSpeechError("tts-timeout", "speech synthesis took too long")
            async with contextlib.aclosing(self._d.tts.synthesize(sentence)) as audio:
                async for chunk in paced(clock, audio, timeout, late):
                    if turn.timings.tts_first_audio is None:
                        turn.timings.tts_first_audio = clock.monotonic() - turn.anchor
                        await self._filler.disarm(wait=True)
                        self._start_playing(interruptible=True)
                        turn.extra["reply_audio_out"] = self._out.next_start() - turn.anchor
                    await self._out.play(chunk)
                    seconds += chunk.duration
            spoken.append(sentence)
        return spoken, seconds

    async def _drain(self, seconds: float) -> float | None:
        """Wait for queued audio to be sent, allowing its duration plus a margin."""
        stalled = ApplianceError("playback-stalled", "queued audio was not sent")
        margin = seconds + self._d.stage_timeout_s
        return await within(self._d.clock, margin, self._out.drain(), stalled)

    async def _say(
        self, key: Prompt, text: str, anchor: float | None = None, *, interruptible: bool = False
    ) -> float | None:
        """Play a cached prompt to the end; record it as an agent turn.

        With `anchor` (monotonic s), the delay until its first frame left is recorded.
        Protected prompts (`interruptible=False`) are never cut by caller speech.
        A prompt with no cached audio raises `PromptError` before anything is played or
        recorded (start-up makes sure there is none).
        """
        chunks: list[AudioChunk] = self._d.cache.get(key)
        await self._filler.disarm(wait=False)
        self.state = CallState.SPEAK
        started = self._d.clock.time()
        self._start_playing(interruptible)
        try:
            for chunk in chunks:
                await self._out.play(chunk)
            first = await self._drain(sum(c.duration for c in chunks))
        finally:
            self._playing = False
        timings: dict[str, float | None] = {}
        if anchor is not None and first is not None:
            timings["first_audio_out"] = first - anchor
        await self._d.recorder.add_turn(
            self._call.call_id, Speaker.AGENT, text, started, self._d.clock.time(), timings
        )
        return first

    async def _say_text(self, text: str) -> None:
        """Synthesize `text` (not a cached prompt), play it to the end, record it."""
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        for item in (text, None):
            sentences.put_nowait(item)
        started = self._d.clock.time()
        _, seconds = await self._speak(sentences, Turn(anchor=self._d.clock.monotonic()))
        await self._drain(seconds)
        self._playing = False
        self._history = [*self._history, ChatMessage("assistant", text)][-self._d.max_history :]
        await self._d.recorder.add_turn(
            self._call.call_id, Speaker.AGENT, text, started, self._d.clock.time(), {}
        )

    def _start_playing(self, interruptible: bool) -> None:
        self._playing, self._interruptible = True, interruptible

    def _filler_started(self) -> None:
        self._start_playing(interruptible=True)
        self._event("filler")

    def _quiet(self) -> None:
        self._playing = False

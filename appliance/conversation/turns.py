"""The conversation of a call session: greeting, then turn after turn until goodbye."""

from __future__ import annotations

import asyncio
import logging
import re

from appliance.conversation.directives import DirectivesMixin
from appliance.conversation.listening import ListeningMixin
from appliance.conversation.prompts import Prompt
from appliance.conversation.replies import Turn, stream_sentences
from appliance.conversation.timing import within
from appliance.conversation.turn_taking import is_backchannel
from appliance.domain import CallState, ChatMessage, Speaker, Utterance
from appliance.errors import ApplianceError, ChatModelError, SpeechToTextError
from appliance.governance.consent import DECLINED, offset_code

logger = logging.getLogger("appliance.conversation.session")  # its name before the split

_GOODBYE = re.compile(r"\b(good\s?-?bye|bye|that'?s all|hang up)\b", re.IGNORECASE)


def is_goodbye(text: str) -> bool:
    return _GOODBYE.search(text) is not None


class TurnsMixin(DirectivesMixin, ListeningMixin):
    """Greets, waits for each caller turn (re-prompting on silence) and answers it."""

    async def _converse(self) -> str:
        first = await self._say(Prompt.GREETING, self._d.prompts.greeting, anchor=self._started)
        if first is not None:
            delay = first - self._started
            self._d.observer.stage_time("greeting_first_audio", delay)
            self._event("greeted", timings={"first_audio_out": delay})
            await self._d.recorder.add_event(self._call.call_id, "disclosure-played", "session",
                                             offset_code(delay), self._d.clock.time())  # fmt: skip
        reprompts = 0
        while True:
            self.state = CallState.LISTEN
            item = await self._next_item()
            if item is None:
                return "caller-hung-up"
            if isinstance(item, ApplianceError):
                raise item
            if isinstance(item, str):  # "silence"
                reprompts += 1
                if reprompts > self._d.policy.max_reprompts:
                    self._event("closed-silent")
                    await self._say(Prompt.SILENCE_GOODBYE, self._d.prompts.silence_goodbye)
                    await self._call.hangup()
                    return "no-response"
                self._event("reprompt")
                await self._cancellable(
                    self._say(Prompt.REPROMPT, self._d.prompts.reprompt, interruptible=True)
                )
                continue
            reprompts = 0
            if await self._cancellable(self._turn(item)):
                return "completed"

    async def _next_item(self) -> Utterance | ApplianceError | str | None:
        """The next caller utterance; "silence" after `reprompt_after_s` without one."""
        quiet = ApplianceError("caller-silent", "no caller speech")
        while True:
            try:
                return await within(
                    self._d.clock, self._d.policy.reprompt_after_s, self._queue.get(), quiet
                )
            except ApplianceError as exc:
                if exc is not quiet:
                    raise
                if not self._caller_speaking:
                    return "silence"

    async def _turn(self, utterance: Utterance) -> bool:
        """Handle one caller turn; True when the call is over."""
        d, turn = self._d, Turn(anchor=utterance.speech_end)
        turn.timings.end_of_turn = utterance.detected_at - turn.anchor
        turn.extra["eot_early"] = 1.0 if utterance.ended_early else 0.0
        if self._stopped_at is not None and utterance.speech_start <= self._stopped_at:
            stop = self._stopped_at - utterance.speech_start
            turn.extra["barge_in_stop"] = stop
            d.observer.stage_time("barge_in_stop", stop)
        self._stopped_at = None
        self.state = CallState.THINK
        self._filler.arm(utterance.speech_end + d.policy.filler_after_s)  # turn gap from speech end
        transcript = self._heard.pop(id(utterance), None)  # known if it barged into a pause
        if transcript is None:
            late = SpeechToTextError("stt-timeout", "transcription took too long")
            transcript = await self._stage(self._early.take(utterance), late)
            turn.extra["stt_early"] = 0.0 if transcript is None else 1.0
        if transcript is None:
            transcript = await self._stage(
                d.stt.transcribe(utterance),
                SpeechToTextError("stt-timeout", "transcription took too long"),
            )
        turn.timings.stt_done = d.clock.monotonic() - turn.anchor
        turn.extra["stt_no_speech_prob"] = transcript.no_speech_prob  # avg_logprob: its column
        text = transcript.text.strip()
        if not text or transcript.no_speech_prob > d.no_speech_threshold:
            self._event("not-heard")
            await self._say(Prompt.NOT_HEARD, d.prompts.not_heard, interruptible=True)
            return False
        if "barge_in_stop" in turn.extra and is_backchannel(text, d.policy.backchannel_max_words):
            await self._filler.disarm(wait=False)
            self._event("speech-ignored", code="backchannel")
            return False
        await d.recorder.add_turn(
            self._call.call_id,
            Speaker.CALLER,
            text,
            self._wall(utterance.speech_start),
            self._wall(utterance.speech_end),
            turn.as_dict(),
            transcript.avg_logprob,
        )
        self._event("heard", timings=turn.as_dict())
        if d.consent.declines_ai(text):  # to a human, without the LLM
            await self._filler.disarm(wait=False)
            self._event("consent-declined")
            await d.recorder.add_event(self._call.call_id, DECLINED, "governance", "ai-handling",
                                       d.clock.time())  # fmt: skip
            return await self._transfer(DECLINED)
        if d.pci.triggered(text):  # nothing of it goes to the LLM
            await self._filler.disarm(wait=False)
            return await self._payment()
        if is_goodbye(text):
            await self._say(Prompt.GOODBYE, d.prompts.goodbye)
            await self._call.hangup()
            return True
        reply = await self._reply(text, turn)
        self._finish_turn(turn, reply)
        return await self._follow()

    async def _reply(self, text: str, turn: Turn) -> str:
        d = self._d
        user = ChatMessage("user", text)
        messages = [ChatMessage("system", d.prompts.system), *self._history, user]
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        producer = asyncio.create_task(
            stream_sentences(
                self._d.llm, messages, self._d.clock, self._d.stage_timeout_s, sentences, turn
            )
        )
        started = d.clock.time()
        try:
            spoken, seconds = await self._speak(sentences, turn)
        finally:
            if not producer.done():
                producer.cancel()
                await asyncio.gather(producer, return_exceptions=True)
        await producer
        if not spoken:
            raise ChatModelError("llm-empty-reply", "the language model returned no text")
        first_out = await self._drain(seconds)
        self._playing = False
        if first_out is not None:
            turn.timings.first_audio_out = first_out - turn.anchor
        if self._filler.started_at is not None:  # first_audio_out is then the filler's
            turn.extra["filler"] = self._filler.started_at - turn.anchor
        reply = " ".join(spoken)
        self._history = [*self._history, user, ChatMessage("assistant", reply)][-d.max_history :]
        await d.recorder.add_turn(
            self._call.call_id,
            Speaker.AGENT,
            reply,
            started,
            d.clock.time(),
            turn.as_dict(),
        )
        return reply

    def _finish_turn(self, turn: Turn, reply: str) -> None:
        t = turn.timings
        for stage, value in (
            ("end_of_turn", t.end_of_turn),
            ("stt", t.stt_done),
            ("llm_first_token", t.llm_first_token),
            ("first_sentence", t.first_sentence),
            ("tts_first_audio", t.tts_first_audio),
            ("turn_gap", t.first_audio_out),
            ("reply_audio_out", turn.extra.get("reply_audio_out")),
            ("filler", turn.extra.get("filler")),
        ):
            if value is not None:
                self._d.observer.stage_time(stage, value)
        self._event("replied", timings=turn.as_dict())
        logger.info(
            "turn",
            extra={"call_id": self._call.call_id, "stage": "turn", "timings": turn.as_dict()},
        )
        _ = reply

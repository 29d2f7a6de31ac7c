"""The conversation of a call: the greeting, then caller turn after caller turn.

`Conversation` consumes the caller's events (`CallerInput.events`) with `match`: a turn
is transcribed (or its speculative / barge-in transcript taken), screened by code
(consent, payment, goodbye) and otherwise given to the agent plane through its port
(`AgentPlane.respond`); the reply streams sentence by sentence into the agent's voice
under one `ReplyHandle` that a barge-in interrupts. The reply's directive and audited
actions then decide what follows (a transfer or the payment pause: flows/).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import TypeVar

from appliance.conversation.audio_keep import HeldAudio
from appliance.conversation.caller import CallerEvent, CallerFailed, CallerGone, CallerInput
from appliance.conversation.caller import CallerTurn as HeardTurn
from appliance.conversation.control import CallControl, History
from appliance.conversation.events import CallEvents
from appliance.conversation.flows.payment import PaymentFlow
from appliance.conversation.flows.transfer import TransferFlow
from appliance.conversation.prompts import Prompt
from appliance.conversation.replies import ReplyHandle, Turn, stream_sentences
from appliance.conversation.settings import SessionDeps
from appliance.conversation.timing import within
from appliance.conversation.turn_taking import is_backchannel
from appliance.conversation.voice import AgentVoice
from appliance.domain import LOW_WORDS, ChatMessage, EventKind, Speaker, Transcript
from appliance.errors import ApplianceError, ChatModelError, SpeechToTextError
from appliance.governance.consent import DECLINED, offset_code
from appliance.ports import AgentReply, AgentTurn, CallHandle

logger = logging.getLogger("appliance.conversation.session")

_GOODBYE = re.compile(r"\b(good\s?-?bye|bye|that'?s all|hang up)\b", re.IGNORECASE)
T = TypeVar("T")
SILENCE = "silence"  # no caller turn for `reprompt_after_s`
_CODE = re.compile(r"[a-z][a-z_-]{0,31}")  # an intent code (anything else is not stored)


def is_goodbye(text: str) -> bool:
    return _GOODBYE.search(text) is not None


class Conversation:
    """Greets, waits for each caller turn (re-prompting on silence) and answers it."""

    def __init__(
        self,
        call: CallHandle,
        deps: SessionDeps,
        events: CallEvents,
        voice: AgentVoice,
        caller: CallerInput,
        reply: ReplyHandle,
    ) -> None:
        self._call, self._d, self._events = call, deps, events
        self._voice, self._caller, self._reply = voice, caller, reply
        self.history = History(deps.max_history)
        self.caller_key = ""  # keyed hash of the caller's number (set by the session)
        self.control = CallControl(call, voice, events, self.history, deps.clock)
        self.held = HeldAudio(call.call_id, deps.audio_sample)  # the quality audio sample

    async def run(self, started: float) -> str:
        """The call's outcome: completed, caller-hung-up or no-response (or it raises)."""
        await self._greet(started)
        reprompts = 0
        while True:
            match await self._next():
                case CallerGone():
                    return "caller-hung-up"
                case CallerFailed(error):
                    raise error
                case HeardTurn() as heard:
                    reprompts = 0
                    if await self._interruptible(self._turn(heard)):
                        return "completed"
                case _:  # silence
                    reprompts += 1
                    if reprompts > self._d.conversation.max_reprompts:
                        self._events.emit(EventKind.CLOSED_SILENT)
                        await self._voice.say(Prompt.SILENCE_GOODBYE)
                        await self._call.hangup()
                        return "no-response"
                    self._events.emit(EventKind.REPROMPT)
                    await self._interruptible(self._voice.say(Prompt.REPROMPT, interruptible=True))

    async def _greet(self, started: float) -> None:
        first = await self._voice.say(Prompt.GREETING, anchor=started)
        if first is None:
            return
        delay = first - started
        self._events.emit(EventKind.GREETED, timings={"first_audio_out": delay})
        self._events.emit(EventKind.DISCLOSURE_PLAYED, stage="session", code=offset_code(delay))

    async def _next(self) -> CallerEvent | str:
        """The next caller event; SILENCE after `reprompt_after_s` without one."""
        quiet = ApplianceError("caller-silent", "no caller speech")
        while True:
            try:
                return await within(
                    self._d.clock,
                    self._d.conversation.reprompt_after_s,
                    self._caller.events.get(),
                    quiet,
                )
            except ApplianceError as exc:
                if exc is not quiet:
                    raise
                if not self._caller.speaking:
                    return SILENCE

    async def _interruptible(self, work: Coroutine[object, object, T]) -> T | None:
        """Run the turn's work under the reply handle; None when a barge-in cut it."""
        try:
            return await self._reply.run(work)
        finally:
            await self._voice.filler.disarm(wait=False)
            self._voice.quiet()

    async def _turn(self, heard: HeardTurn) -> bool:
        """Handle one caller turn; True when the call is over."""
        d, utterance = self._d, heard.utterance
        turn = Turn(anchor=utterance.speech_end)
        turn.timings.end_of_turn = utterance.detected_at - turn.anchor
        turn.extra["eot_early"] = 1.0 if utterance.ended_early else 0.0
        stopped_at, self._caller.stopped_at = self._caller.stopped_at, None
        if stopped_at is not None and utterance.speech_start <= stopped_at:
            turn.extra["barge_in_stop"] = stopped_at - utterance.speech_start
        self._voice.filler.arm(utterance.speech_end + d.conversation.filler_after_s)
        transcript = await self._transcribe(heard, turn)
        text = transcript.text.strip()
        if not text or transcript.no_speech_prob > d.no_speech_threshold:
            self._events.emit(EventKind.NOT_HEARD, timings=turn.as_dict())
            await self._voice.say(Prompt.NOT_HEARD, interruptible=True)
            return False
        if "barge_in_stop" in turn.extra and is_backchannel(
            text, d.conversation.backchannel_max_words
        ):
            await self._voice.filler.disarm(wait=False)
            self._events.emit(EventKind.SPEECH_IGNORED, code="backchannel", timings=turn.as_dict())
            return False
        seq = await d.recorder.add_turn(
            self._call.call_id,
            Speaker.CALLER,
            text,
            self._wall(utterance.speech_start),
            self._wall(utterance.speech_end),
            turn.as_dict(),
            transcript.avg_logprob,
        )
        self.held.hold(seq, utterance.audio, transcript.avg_logprob)
        self._events.emit(EventKind.HEARD, timings=turn.as_dict())
        return await self._answer(text, turn)

    async def _transcribe(self, heard: HeardTurn, turn: Turn) -> Transcript:
        """The turn's transcript: from its barge-in judgement, its speculation, or STT now."""
        d, transcript = self._d, heard.transcript
        if transcript is None:
            late = SpeechToTextError("stt-timeout", "transcription took too long")
            early = self._caller.early.take(heard.utterance)
            transcript = await within(d.clock, d.stage_timeout_s, early, late)
            turn.extra["stt_early"] = 0.0 if transcript is None else 1.0
        if transcript is None:
            late = SpeechToTextError("stt-timeout", "transcription took too long")
            work = d.stt.transcribe(heard.utterance)
            transcript = await within(d.clock, d.stage_timeout_s, work, late)
        turn.timings.stt_done = d.clock.monotonic() - turn.anchor
        turn.extra["stt_no_speech_prob"] = transcript.no_speech_prob  # avg_logprob: its column
        if transcript.low_words is not None:  # [stt] word_confidence: a count, never the words
            turn.extra[LOW_WORDS] = float(transcript.low_words)
        return transcript

    async def _answer(self, text: str, turn: Turn) -> bool:
        """Code screens the words first (consent, payment, goodbye); then the agent plane."""
        d = self._d
        if d.consent.declines_ai(text):  # to a human, without the LLM
            await self._voice.filler.disarm(wait=False)
            self._events.emit(EventKind.CONSENT_DECLINED, stage="governance", code="ai-handling")
            return await self._transfer(DECLINED)
        if d.pci.triggered(text):  # nothing of it goes to the LLM
            await self._voice.filler.disarm(wait=False)
            return await self._payment()
        if is_goodbye(text):
            self._events.emit(EventKind.GOODBYE)
            await self._voice.say(Prompt.GOODBYE)
            await self._call.hangup()
            return True
        turn_in = AgentTurn(self._call.call_id, text, self.history.messages, self.caller_key)
        reply = d.agent.respond(turn_in)
        try:
            await self._speak_reply(text, reply, turn)
        except BaseException:  # a barge-in or a failing stage cut the reply: what was done stays
            self._record_actions(reply)
            raise
        self._record_actions(reply)
        return await self._follow(reply)

    async def _speak_reply(self, text: str, reply: AgentReply, turn: Turn) -> None:
        d, voice = self._d, self._voice
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        producer = asyncio.create_task(
            stream_sentences(reply.text, d.clock, d.stage_timeout_s, sentences, turn)
        )
        started = d.clock.time()
        try:
            spoken, seconds = await voice.speak(sentences, turn)
        finally:
            if not producer.done():
                producer.cancel()
                await asyncio.gather(producer, return_exceptions=True)
        await producer
        if not spoken:
            raise ChatModelError("llm-empty-reply", "the language model returned no text")
        first_out = await voice.drain(seconds)
        voice.quiet()
        if first_out is not None:
            turn.timings.first_audio_out = first_out - turn.anchor
        if voice.filler.started_at is not None:  # first_audio_out is then the filler's
            turn.extra["filler"] = voice.filler.started_at - turn.anchor
        said = " ".join(spoken)
        self.history.add(ChatMessage("user", text), ChatMessage("assistant", said))
        await voice.record(said, started, turn.as_dict())
        self._events.emit(EventKind.REPLIED, timings=turn.as_dict())
        logger.info(
            "turn",
            extra={"call_id": self._call.call_id, "stage": "turn", "timings": turn.as_dict()},
        )

    def _record_actions(self, reply: AgentReply) -> None:
        """Record the intent the agent understood (a code), then record and audit the
        workflow actions the reply reports (a booking is made before its confirmation is
        spoken, so a barge-in on the words must not lose it)."""
        if reply.intent is not None and _CODE.fullmatch(reply.intent):
            self._events.emit(EventKind.INTENT, stage="workflow", code=reply.intent)
        if reply.reprompt is not None and _CODE.fullmatch(reply.reprompt):
            self._events.emit(EventKind.ASKED_AGAIN, stage="workflow", code=reply.reprompt)
        for action in reply.actions:
            kind = EventKind.of_action(action.action)
            self._events.emit(kind, stage="workflow", code=action.outcome)
            if action.ref:  # which appointment: post-call scoring checks it in the schedule
                ref = f"{action.action.value}:{action.ref}"
                self._events.emit(EventKind.APPOINTMENT, stage="workflow", code=ref)

    async def _follow(self, reply: AgentReply) -> bool:
        """Act on the reply's directive. True when the call is over."""
        directive = reply.directive
        if directive is None:
            return False
        if directive.payment and self._d.pci.enabled:
            return await self._payment()
        if directive.transfer_reason:
            return await self._transfer(directive.transfer_reason)
        if directive.end_call:
            await self._call.hangup()
            return True
        return False

    async def _transfer(self, reason: str) -> bool:
        """Hand the caller to the front desk (flows/transfer.py); True if a human answered."""
        d = self._d
        flow = TransferFlow(self.control, d.agent, d.transfer, d.tts.synthesize)
        return await flow.run(reason)

    async def _payment(self) -> bool:
        """The PCI pause (flows/payment.py); True when the call left the agent."""
        return await PaymentFlow(self.control, self._caller.payment).run()

    def _wall(self, monotonic: float) -> float:
        clock = self._d.clock
        return clock.time() - (clock.monotonic() - monotonic)

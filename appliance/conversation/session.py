"""One call: greet, then listen -> transcribe -> think -> speak, until goodbye or hang-up.

Stages are joined by typed data. Any stage failure becomes a coded error; the
caller then hears the cached apology and the call ends politely (never dead air).
All time comes from `deps.clock` (tests run on a virtual clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TypeVar, cast

from appliance.audio import AudioChunk
from appliance.conversation.barge_in import Action, BargeInRule, judge
from appliance.conversation.early_stt import EarlyStt, TentativeTurns
from appliance.conversation.filler import Filler
from appliance.conversation.playout import Playout
from appliance.conversation.prompts import PromptCache, Prompts
from appliance.conversation.replies import Turn, stream_sentences
from appliance.conversation.timing import paced, within
from appliance.conversation.turn_taking import TurnPolicy, is_backchannel
from appliance.domain import (
    CallState,
    ChatMessage,
    SessionEvent,
    Speaker,
    Transcript,
    Utterance,
)
from appliance.errors import (
    ApplianceError,
    ChatModelError,
    SpeechToTextError,
    TextToSpeechError,
)
from appliance.governance.consent import DECLINED, ConsentPolicy, audit_actions, offset_code
from appliance.governance.pci import PaymentFlow, PaymentPause, PciPolicy
from appliance.ports import (
    CallHandle,
    CallRecorder,
    ChatModel,
    Clock,
    Directed,
    EndOfTurnDetector,
    SessionObserver,
    SpeechActivity,
    SpeechToText,
    TextToSpeech,
)
from appliance.workflows.transfer_flow import TransferFlow

logger = logging.getLogger(__name__)
T = TypeVar("T")

_GOODBYE = re.compile(r"\b(good\s?-?bye|bye|that'?s all|hang up)\b", re.IGNORECASE)


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
    policy: TurnPolicy = field(default_factory=TurnPolicy)  # barge-in, filler and re-prompt timing
    front_desk_uri: str = ""  # SIP URI for transfers to a human ("" = none configured)
    pci: PciPolicy = field(default_factory=PciPolicy)  # payment mode (off by default)
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)  # declining AI handling


class CallSession:
    """Runs one call to its end.

    Returns "completed", "caller-hung-up", "no-response" (closed after the re-prompts)
    or "failed". The caller is heard all the time: speech over interruptible agent audio
    (replies, filler, re-prompts) stops it and cancels the reply (barge-in); speech over
    protected audio (greeting with the AI disclosure, goodbye, apology) and short
    backchannels are ignored.
    """

    def __init__(self, call: CallHandle, deps: SessionDeps) -> None:
        self._call = call
        self._d = deps
        self._queue: asyncio.Queue[Utterance | ApplianceError | None] = asyncio.Queue()
        self._ended = asyncio.Event()
        self._history: list[ChatMessage] = []
        self._playing = False  # agent audio is queued or going out
        self._interruptible = False  # ... and the caller may cut it
        self._caller_speaking = False
        self._current: asyncio.Future[object] | None = None  # work a barge-in cancels
        self._stopped_at: float | None = None  # monotonic s of the last barge-in stop
        self._out = Playout(call, deps.clock)  # all agent audio: pause/resume for barge-in
        audio = deps.cache.get("filler") or []
        self._filler = Filler(
            self._out, deps.clock, audio, self._filler_started, self._quiet,
            deps.policy.filler_every_s,
        )  # fmt: skip
        self.state = CallState.GREET
        self.events: list[SessionEvent] = []
        self.payment = PaymentPause(deps.pci, deps.clock)  # PCI pause: no audio, digits counted
        self._judging: set[asyncio.Task[None]] = set()  # words of barge-ins into a pause
        self._heard: dict[int, Transcript] = {}  # id(utterance) -> its transcript, if known
        self._early = EarlyStt(deps.stt)  # STT from the first pause of a turn

    # --- lifecycle ---------------------------------------------------------------

    async def run(self) -> str:
        d, call_id = self._d, self._call.call_id
        self._started = d.clock.monotonic()
        await d.recorder.start_call(call_id, d.clock.time(), self._call.codec, "")
        d.observer.call_started()
        self._event("answered")
        listener = asyncio.create_task(self._listen(), name=f"listen-{call_id}")
        keys = asyncio.create_task(self.payment.consume(self._call), name=f"keys-{call_id}")
        outcome = "failed"
        try:
            outcome = await self._race(self._converse())
        except ApplianceError as exc:
            await self._fail(exc)
        except Exception as exc:  # any crash must end in an apology
            await self._fail(ApplianceError("session-failed", type(exc).__name__))
        finally:
            listener.cancel()
            keys.cancel()
            await asyncio.gather(listener, keys, return_exceptions=True)
            await self._stop_judging()
            await self._early.close()
            self.state = CallState.END
            self._event("ended", code=outcome)
            await asyncio.shield(d.recorder.end_call(call_id, d.clock.time(), outcome))
            d.observer.call_ended(outcome)
        return outcome

    async def _race(self, work: Awaitable[str]) -> str:
        """Run `work` until it finishes or the caller hangs up, whichever is first."""
        task = asyncio.ensure_future(work)
        ended = asyncio.create_task(self._ended.wait())
        try:
            done, _ = await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, ended, return_exceptions=True)
        if task in done or not task.cancelled():
            return task.result()
        return "caller-hung-up"

    async def _listen(self) -> None:
        """Feed every caller frame to the detector, also while the agent speaks."""
        detector = self._d.new_detector()
        rule = BargeInRule(self._d.policy)
        paused = False
        try:
            async for chunk in self._call.frames():
                if self.payment.drops(chunk):  # PCI pause: dropped, never buffered or heard
                    paused, self._caller_speaking = True, False
                    continue
                if paused:  # nothing from before the pause may join a later utterance
                    paused = False
                    detector.reset()
                    rule = BargeInRule(self._d.policy)
                    self._drop_queued()
                utterance = detector.feed(chunk)
                active = voiced = False
                if isinstance(detector, SpeechActivity):
                    active = detector.speech_active
                    voiced = detector.probability >= self._d.policy.voiced_threshold
                self._caller_speaking = active
                self._speculate(detector, voiced)
                can_cut = self._playing and self._interruptible
                await self._on_action(rule.update(active, voiced, chunk.duration, can_cut))
                if utterance is not None:
                    self._caller_speaking = False
                    barged, resume = rule.end_of_utterance()
                    if resume:
                        await self._on_action(Action.RESUME)
                    self._on_utterance(utterance, barged)
        except ApplianceError as exc:
            self._queue.put_nowait(exc)
            return
        self._ended.set()
        self._queue.put_nowait(None)

    def _speculate(self, detector: object, voiced: bool) -> None:
        """Start STT at a pause of the caller's turn (not while the agent talks)."""
        if voiced:
            self._early.cancel()  # the caller speaks on
        tentative = detector.tentative() if isinstance(detector, TentativeTurns) else None
        if tentative is not None and not self._playing:
            self._early.offer(tentative)

    def _on_utterance(self, utterance: Utterance, barged_in: bool) -> None:
        if barged_in or self._playing:
            self._early.cancel()  # not a turn of its own, or judged in _judge
        if barged_in and self._out.paused:  # the reply waits, paused, for the words
            task = asyncio.create_task(self._judge(utterance))
            self._judging.add(task)
            task.add_done_callback(self._judging.discard)
        elif barged_in or not self._playing:
            self._queue.put_nowait(utterance)
        else:  # over protected audio, or too short to interrupt
            code = "backchannel" if self._interruptible else "protected-audio"
            self._event("speech-ignored", code=code)

    async def _on_action(self, action: Action) -> None:
        if action is Action.PAUSE and not self._out.paused:
            self._out.pause()
            self._event("barge-in-paused")
        elif action is Action.RESUME and self._out.paused:
            await self._out.resume()
            self._event("barge-in-resumed")
        elif action is Action.STOP and not self._out.paused:  # paused: the words decide
            self._barge_in()

    async def _stop_judging(self) -> None:
        tasks = list(self._judging)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _judge(self, utterance: Utterance) -> None:
        """A barge-in into a paused reply: a backchannel or no words resume the reply."""
        d = self._d
        try:
            transcript, resume = await judge(
                d.stt, utterance, d.clock, d.stage_timeout_s, d.policy, d.no_speech_threshold
            )
        except ApplianceError as exc:
            self._barge_in()
            self._queue.put_nowait(exc)
            return
        if resume:  # nothing for the agent to answer
            self._event("speech-ignored", code="backchannel")
            await self._on_action(Action.RESUME)
            return
        self._heard[id(utterance)] = transcript
        if self._out.paused:
            self._barge_in()
        self._queue.put_nowait(utterance)

    def _barge_in(self) -> None:
        """Stop the agent's audio at once and cancel what it was about to say."""
        paused_at = self._out.paused_at
        self._out.stop()
        self._stopped_at = self._d.clock.monotonic() if paused_at is None else paused_at
        self._playing = False
        self._event("barge-in")
        if self._current is not None and not self._current.done():
            self._current.cancel()

    async def _cancellable(self, work: Coroutine[object, object, T]) -> T | None:
        """Run `work` so that a barge-in can cancel it; None when it was cancelled so."""
        task = asyncio.ensure_future(work)
        self._current = cast("asyncio.Future[object]", task)
        try:
            await asyncio.wait({task})
        finally:
            self._current = None
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await self._filler.disarm(wait=False)
            self._playing = False
        if task.cancelled():
            return None
        return task.result()

    # --- conversation ------------------------------------------------------------

    async def _converse(self) -> str:
        first = await self._say("greeting", self._d.prompts.greeting, anchor=self._started)
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
                    await self._say("silence_goodbye", self._d.prompts.silence_goodbye)
                    await self._call.hangup()
                    return "no-response"
                self._event("reprompt")
                await self._cancellable(
                    self._say("reprompt", self._d.prompts.reprompt, interruptible=True)
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
        if self._stopped_at is not None and utterance.speech_start <= self._stopped_at:
            stop = self._stopped_at - utterance.speech_start
            turn.extra["barge_in_stop"] = stop
            d.observer.stage_time("barge_in_stop", stop)
        self._stopped_at = None
        self.state = CallState.THINK
        self._filler.arm(utterance.detected_at + d.policy.filler_after_s)
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
            await self._say("not_heard", d.prompts.not_heard, interruptible=True)
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
            await self._say("goodbye", d.prompts.goodbye)
            await self._call.hangup()
            return True
        reply = await self._reply(text, turn)
        self._finish_turn(turn, reply)
        return await self._follow()

    async def _follow(self) -> bool:
        """Act on the agent plane's directive after a reply; True when the call is over."""
        llm = self._d.llm
        await audit_actions(llm, self._d.recorder, self._call.call_id, self._d.clock.time())
        directive = llm.directive() if isinstance(llm, Directed) else None
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
        """Hand the caller to the front desk: handoff packet, hold prompt, blind transfer;
        if no human answers, the caller stays and is offered a message (transfer_flow.py)."""
        d, p = self._d, self._d.prompts
        self._event("transfer", code=reason)
        texts = {"hold": p.hold, "no_transfer": p.no_transfer}
        flow = TransferFlow(self._call, d.front_desk_uri, d.recorder, d.clock, d.llm,
                            lambda key: self._say(key, texts[key]), self._say_text,
                            self._out.stop)  # fmt: skip
        return await flow.run(reason)

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

    async def _payment(self) -> bool:
        """PCI pause (appliance/governance/pci.py); True when the call left the agent."""
        d, call = self._d, self._call
        say = lambda key, text: self._say(key, text)  # noqa: E731
        event = lambda kind, code: self._event(kind, stage="governance", code=code)  # noqa: E731
        flow = PaymentFlow(self.payment, call, call.call_id, d.recorder, d.clock, say, event)
        return await flow.run()

    def _drop_queued(self) -> None:
        """Forget utterances detected before a PCI pause ended (keep hang-ups, failures)."""
        items = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        for item in items:
            if not isinstance(item, Utterance):
                self._queue.put_nowait(item)

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
        self, key: str, text: str, anchor: float | None = None, *, interruptible: bool = False
    ) -> float | None:
        """Play a cached prompt to the end; record it as an agent turn.

        With `anchor` (monotonic s), the delay until its first frame left is recorded.
        Protected prompts (`interruptible=False`) are never cut by caller speech.
        """
        await self._filler.disarm(wait=False)
        self.state = CallState.SPEAK
        chunks: list[AudioChunk] = self._d.cache.get(key) or []
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

    def _start_playing(self, interruptible: bool) -> None:
        self._playing, self._interruptible = True, interruptible

    def _filler_started(self) -> None:
        self._start_playing(interruptible=True)
        self._event("filler")

    def _quiet(self) -> None:
        self._playing = False

    async def _stage(self, work: Awaitable[T], error: ApplianceError) -> T:
        return await within(self._d.clock, self._d.stage_timeout_s, work, error)

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
            self._out.stop()
            late = ApplianceError("apology-timeout", "the apology was not played")
            await within(d.clock, 30.0, self._say("apology", d.prompts.apology), late)
            await self._call.hangup()
        except ApplianceError as again:
            logger.error("apology failed", extra={"call_id": call_id, "code": again.code})
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

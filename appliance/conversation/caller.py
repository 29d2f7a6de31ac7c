"""The caller's side of one call: every frame heard, turned into typed caller events.

`CallerInput` feeds each 20 ms frame to the end-of-turn detector, also while the agent
speaks. It owns the PCI drop (frames in payment mode never reach the detector), the
barge-in rule (pause, stop or resume the agent's voice; a stop interrupts the reply),
speculative STT at a turn's first pause and the semantic early end of a turn. What the
conversation needs to act on arrives in `events` as a `CallerTurn`, `CallerFailed` or
`CallerGone`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from appliance.audio import AudioChunk
from appliance.conversation.barge_in import Action, BargeInRule, judge
from appliance.conversation.completeness import looks_complete
from appliance.conversation.early_stt import EarlyStt
from appliance.conversation.events import CallEvents
from appliance.conversation.replies import ReplyHandle
from appliance.conversation.settings import SessionDeps
from appliance.conversation.voice import AgentVoice
from appliance.domain import EventKind, Transcript, Utterance
from appliance.errors import ApplianceError
from appliance.governance.pci import PaymentPause
from appliance.ports import CallHandle, EndOfTurnDetector


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """The caller finished a turn; its transcript if a barge-in judgement already has it."""

    utterance: Utterance
    transcript: Transcript | None = None


@dataclass(frozen=True, slots=True)
class CallerFailed:
    error: ApplianceError  # listening failed (e.g. the VAD): the call ends with an apology


@dataclass(frozen=True, slots=True)
class CallerGone:
    """The call's audio ended: the caller hung up."""


CallerEvent = CallerTurn | CallerFailed | CallerGone


class CallerInput:
    """Hears the caller all the time; a barge-in stops the agent's voice and its reply."""

    def __init__(
        self,
        call: CallHandle,
        deps: SessionDeps,
        voice: AgentVoice,
        reply: ReplyHandle,
        events: CallEvents,
    ) -> None:
        self._call, self._d, self._voice, self._reply = call, deps, voice, reply
        self._events = events
        self.payment = PaymentPause(deps.pci, deps.clock)  # PCI pause: no audio, digits counted
        self.events: asyncio.Queue[CallerEvent] = asyncio.Queue()
        self.gone = asyncio.Event()  # the call's audio ended (the caller hung up)
        self.speaking = False  # the caller is speaking now (from the VAD's start of speech)
        self.stopped_at: float | None = None  # monotonic s of the last barge-in stop
        self.early = EarlyStt(deps.stt)  # STT from the first pause of a turn
        self._judging: set[asyncio.Task[None]] = set()  # words of barge-ins into a pause
        self._detector: EndOfTurnDetector = deps.new_detector()
        self._rule = BargeInRule(deps.conversation)

    async def listen(self) -> None:
        """Feed every caller frame to the detector until the call's audio ends."""
        dropping = False
        try:
            async for chunk in self._call.frames():
                if self.payment.drops(chunk):  # PCI pause: dropped, never buffered or heard
                    dropping, self.speaking = True, False
                    continue
                if dropping:  # nothing from before the pause may join a later utterance
                    dropping = False
                    self._after_payment()
                await self._hear(chunk)
        except ApplianceError as exc:
            self.events.put_nowait(CallerFailed(exc))
            return
        self.gone.set()
        self.events.put_nowait(CallerGone())

    async def close(self) -> None:
        tasks = list(self._judging)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.early.close()

    async def _hear(self, chunk: AudioChunk) -> None:
        detector = self._detector
        utterance = detector.feed(chunk)
        active = detector.speech_active
        voiced = detector.probability >= self._d.vad.threshold
        self.speaking = active
        self._speculate(voiced)
        if utterance is None and not voiced:
            utterance = self._end_early()
        await self._act(self._rule.update(active, voiced, chunk.duration, self._voice.can_cut))
        if utterance is not None:
            self.speaking = False
            barged, resume = self._rule.end_of_utterance()
            if resume:
                await self._act(Action.RESUME)
            self._on_utterance(utterance, barged)

    def _after_payment(self) -> None:
        """Forget the detector's state and the turns detected before payment mode ended
        (keep hang-ups and failures)."""
        self._detector.reset()
        self._rule = BargeInRule(self._d.conversation)
        items = [self.events.get_nowait() for _ in range(self.events.qsize())]
        for item in items:
            if not isinstance(item, CallerTurn):
                self.events.put_nowait(item)

    def _speculate(self, voiced: bool) -> None:
        """Start STT at a pause of the caller's turn (not while the agent talks)."""
        if voiced:
            self.early.cancel()  # the caller speaks on
        tentative = self._detector.tentative()
        if tentative is not None and not self._voice.playing:
            self.early.offer(tentative)

    def _end_early(self) -> Utterance | None:
        """Semantic end of turn: the pause's speculative transcript reads complete, so the
        turn ends now instead of after the rest of `[vad] min_silence_ms`."""
        if not self._d.vad.early_end or self._voice.playing:
            return None
        heard = self.early.ready()  # per frame: the cheap checks first
        if heard is None or not looks_complete(heard):
            return None
        utterance = self._detector.commit()
        if utterance is None:
            return None
        return dataclasses.replace(utterance, ended_early=True)

    def _on_utterance(self, utterance: Utterance, barged_in: bool) -> None:
        voice = self._voice
        if barged_in or voice.playing:
            self.early.cancel()  # not a turn of its own, or judged in _judge
        if barged_in and voice.out.paused:  # the reply waits, paused, for the words
            task = asyncio.create_task(self._judge(utterance))
            self._judging.add(task)
            task.add_done_callback(self._judging.discard)
        elif barged_in or not voice.playing:
            self.events.put_nowait(CallerTurn(utterance))
        else:  # over protected audio, or too short to interrupt
            code = "backchannel" if voice.can_cut else "protected-audio"
            self._events.emit(EventKind.SPEECH_IGNORED, code=code)

    async def _act(self, action: Action) -> None:
        out = self._voice.out
        if action is Action.PAUSE and not out.paused:
            out.pause()
            self._events.emit(EventKind.BARGE_IN_PAUSED)
        elif action is Action.RESUME and out.paused:
            await out.resume()
            self._events.emit(EventKind.BARGE_IN_RESUMED)
        elif action is Action.STOP and not out.paused:  # paused: the words decide
            self._barge_in()

    async def _judge(self, utterance: Utterance) -> None:
        """A barge-in into a paused reply: a backchannel or no words resume the reply."""
        d = self._d
        try:
            transcript, resume = await judge(
                d.stt, utterance, d.clock, d.stage_timeout_s, d.conversation, d.no_speech_threshold
            )
        except ApplianceError as exc:
            self._barge_in()
            self.events.put_nowait(CallerFailed(exc))
            return
        if resume:  # nothing for the agent to answer
            self._events.emit(EventKind.SPEECH_IGNORED, code="backchannel")
            await self._act(Action.RESUME)
            return
        if self._voice.out.paused:
            self._barge_in()
        self.events.put_nowait(CallerTurn(utterance, transcript))

    def _barge_in(self) -> None:
        """Stop the agent's audio at once and interrupt what it was about to say."""
        paused_at = self._voice.out.paused_at
        self._voice.stop()
        self.stopped_at = self._d.clock.monotonic() if paused_at is None else paused_at
        self._events.emit(EventKind.BARGE_IN)
        self._reply.interrupt()

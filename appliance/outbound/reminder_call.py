"""The reminder call once answered: the disclosure first, then a person or a machine.

  1. The disclosure (templates.disclosure: the clinic's name, nothing else) is played at
     once on answer, while the callee's audio is read by the answering-machine heuristic
     (appliance.outbound.amd).
  2. A machine: wait for its greeting to end, leave the voicemail message (no PHI: the
     clinic's name and call-back number), hang up.
  3. A person: ask for the patient by first name only; only on a yes are the
     appointment's day and time said, then: keep it (confirmed, audited), cancel it
     (asked again, then cancelled through the schedule backend the workflows use,
     audited) or move it (the inbound reschedule flow takes over: reminder_move);
     a no to the name is a wrong person (nothing more is said).
  4. An opt-out said at any answer, or at any time before a question (over the
     disclosure, say: "stop calling me"; appliance.outbound.optout_phrases)
     revokes every consent for the number and puts it on the do-not-call list at once
     (Ledger.opt_out, audited), and only then is it confirmed to the callee.
Yes / no is read by the workflows' own reader (appliance.workflows.answers.classify).
Every sentence is from appliance.outbound.templates.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.audio import AudioChunk, resample
from appliance.domain import Utterance
from appliance.outbound import templates as say
from appliance.outbound.amd import AmdSettings, GreetingClassifier, Verdict
from appliance.outbound.dialler import CallReport
from appliance.outbound.ledger import Ledger
from appliance.outbound.optout_phrases import is_opt_out
from appliance.outbound.planner import Decision
from appliance.outbound.reminder_move import OPTED_OUT, Handover, Moves, Start
from appliance.ports import CallHandle, Clock, EndOfTurnDetector, SpeechToText, TextToSpeech
from appliance.store.db import Connection, Database
from appliance.workflows import templates as t
from appliance.workflows.answers import Answer, classify
from appliance.workflows.intents import read

POLL_S = 0.1  # s between looks at the heuristic's verdict


@dataclass(frozen=True, slots=True)
class Facts:
    first_name: str  # PHI
    start: datetime  # clinic local


@dataclass(frozen=True, slots=True)
class Voice:
    tts: TextToSpeech
    stt: SpeechToText
    new_detector: Callable[[], EndOfTurnDetector]
    clock: Clock


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    clinic: str
    callback: str  # the number a callee is asked to call back (said, not PHI)
    answer_s: float = 8.0  # s to wait for a reply to a question
    greeting_max_s: float = 40.0  # s at most to wait for a machine's greeting to end
    amd: AmdSettings = field(default_factory=AmdSettings)
    emergency_number: str = "911"  # said in the workflows' emergency instruction


FactsOf = Callable[[str], Facts | None]
Cancel = Callable[[str], Awaitable[object]]


def appointment_facts(db: Database, zone: ZoneInfo) -> FactsOf:
    """The patient's first name and the appointment's start, while it is still booked."""

    def read(conn: Connection, appointment_id: str) -> Facts | None:
        row = conn.execute(
            "SELECT p.first_name, a.start_utc FROM appointments a"
            " JOIN patients p ON p.id = a.patient_id WHERE a.id = ? AND a.status = 'booked'",
            (appointment_id,),
        ).fetchone()
        return Facts(str(row[0]), datetime.fromtimestamp(int(row[1]), zone)) if row else None

    return lambda appointment_id: db.query(read, appointment_id)


async def _chunks(chunks: list[AudioChunk]) -> AsyncIterator[AudioChunk]:
    for chunk in chunks:
        yield chunk


class _Line:
    """One answered call: speaking, and hearing through the detector and the heuristic."""

    def __init__(self, call: CallHandle, voice: Voice, amd: AmdSettings) -> None:
        self.call = call
        self.voice = voice
        self.amd = GreetingClassifier(amd)
        self.detector = voice.new_detector()
        self.heard: asyncio.Queue[Utterance] = asyncio.Queue()
        self.ended = False
        self.first_audio: float | None = None  # monotonic s the disclosure's audio left
        self._task = asyncio.ensure_future(self._listen())

    async def _listen(self) -> None:
        async for chunk in self.call.frames():
            self.amd.feed(chunk)
            utterance = self.detector.feed(chunk)
            if utterance is not None:
                self.heard.put_nowait(utterance)
        self.ended = True

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def say(self, text: str, ready: list[AudioChunk] | None = None) -> None:
        """Say `text` (its audio `ready` when synthesized beforehand)."""
        rate = self.call.rate
        audio = _chunks(ready) if ready is not None else self.voice.tts.synthesize(text)
        async for chunk in audio:
            pcm = chunk.pcm if chunk.rate == rate else resample(chunk.pcm, chunk.rate, rate)
            await self.call.play(AudioChunk(pcm, rate))
        first = await self.call.drain()
        if self.first_audio is None:
            self.first_audio = first

    async def earlier(self) -> list[str]:
        """What the callee said since the last question, as text (read for an opt-out
        only: it is not the next question's answer)."""
        turns = []
        while not self.heard.empty():
            turns.append(self.heard.get_nowait())
        return [(await self.voice.stt.transcribe(turn)).text for turn in turns]

    async def ask(self, text: str, within: float) -> str | None:
        """Say `text`, then the callee's next turn as text (None: silence or hung up)."""
        await self.say(text)
        waits: list[asyncio.Future[object]] = [
            asyncio.ensure_future(self.heard.get()),
            asyncio.ensure_future(self.voice.clock.sleep(within)),
            asyncio.ensure_future(asyncio.shield(self._task)),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        got = waits[0]
        if got.cancelled() or not got.done() or got.exception() is not None:
            return None
        utterance = got.result()
        assert isinstance(utterance, Utterance)
        return (await self.voice.stt.transcribe(utterance)).text

    async def verdict(self, within: float) -> Verdict:
        """The heuristic's verdict, waiting up to `within` s (still none: a person)."""
        waited = 0.0
        while self.amd.verdict is None and not self.ended and waited < within:
            await self.voice.clock.sleep(POLL_S)
            waited += POLL_S
        return self.amd.verdict or "human"

    async def greeting_over(self, within: float) -> None:
        waited = 0.0
        while not self.amd.greeting_over and not self.ended and waited < within:
            await self.voice.clock.sleep(POLL_S)
            waited += POLL_S


class ReminderCall:
    """The Conversation seam of the dialler (appliance.outbound.dialler)."""

    def __init__(
        self,
        voice: Voice,
        settings: ReminderSettings,
        facts: FactsOf,
        cancel: Cancel,
        moves: Moves | None = None,  # None: a wish to move is not taken (call us)
    ) -> None:
        self._voice = voice
        self._moves = moves
        self._s = settings
        self._facts = facts
        self._cancel = cancel
        self.disclosure_started_s: list[float] = []  # s after answer, per call (metrics)
        self._disclosure: list[AudioChunk] | None = None

    async def prepare(self) -> None:
        """Synthesize the disclosure once, before any dial, so that it starts at once."""
        text = say.disclosure(self._s.clinic)
        self._disclosure = [chunk async for chunk in self._voice.tts.synthesize(text)]

    async def __call__(self, call: CallHandle, decision: Decision, ledger: Ledger) -> CallReport:
        answered = self._voice.clock.monotonic()
        line = _Line(call, self._voice, self._s.amd)
        try:
            await line.say(say.disclosure(self._s.clinic), self._disclosure)
            if line.first_audio is not None:
                self.disclosure_started_s.append(line.first_audio - answered)
            return await self._after_disclosure(line, decision, ledger)
        finally:
            await line.close()

    async def _after_disclosure(
        self, line: _Line, decision: Decision, ledger: Ledger
    ) -> CallReport:
        s = self._s
        if await line.verdict(s.amd.machine_s + s.amd.gap_s) == "machine":
            await line.greeting_over(s.greeting_max_s)
            await line.say(say.voicemail(s.clinic, s.callback))
            return CallReport("voicemail", "message-left")
        facts = self._facts(decision.appointment_id)
        if facts is None:  # cancelled or moved since the dial: nothing to remind
            await line.say(say.no_reply(s.clinic, s.callback))
            return CallReport("answered", "not-booked")
        reply = await self._answer(line, say.ask_for(facts.first_name), decision, ledger)
        if isinstance(reply, CallReport):
            return reply
        if reply is Answer.NO:
            await line.say(say.wrong_person(s.clinic, s.callback))
            return CallReport("answered", "wrong-person")
        return await self._remind(line, facts, decision, ledger)

    async def _remind(
        self, line: _Line, facts: Facts, decision: Decision, ledger: Ledger
    ) -> CallReport:
        s, clock, appointment = self._s, self._voice.clock, decision.appointment_id
        details = say.details(s.clinic, facts.start)
        reply = await self._answer(line, details, decision, ledger, movable=True)
        if isinstance(reply, CallReport):
            return reply
        if isinstance(reply, Start):
            return await self._move(line, reply, decision, ledger)
        if reply is Answer.YES:
            if not ledger.confirm(appointment, clock.time()):  # cancelled meanwhile
                await line.say(say.no_reply(s.clinic, s.callback))
                return CallReport("answered", "not-booked")
            await line.say(say.confirmed())
            return CallReport("answered", "confirmed")
        reply = await self._answer(line, say.ask_cancel(), decision, ledger, movable=True)
        if isinstance(reply, CallReport):
            return reply
        if isinstance(reply, Start):
            return await self._move(line, reply, decision, ledger)
        if reply is Answer.NO:
            await line.say(say.left_as_is(s.callback))
            return CallReport("answered", "left-as-is")
        await self._cancel(appointment)
        ledger.audit_result(appointment, "cancelled", clock.time())
        await line.say(say.cancelled(s.callback))
        return CallReport("answered", "cancelled")

    async def _move(
        self, line: _Line, start: Start, decision: Decision, ledger: Ledger
    ) -> CallReport:
        """The inbound reschedule flow, turn by turn, to the end of the call."""
        assert self._moves is not None
        words = (self._s.callback, self._s.answer_s)
        handover = Handover(self._moves, line, ledger, self._voice.clock, words)
        result = await handover.run(decision.appointment_id, start)
        if result == OPTED_OUT:
            return await self._opt_out(line, decision, ledger)
        return CallReport("answered", result)

    async def _answer(
        self, line: _Line, question: str, decision: Decision, ledger: Ledger, movable: bool = False
    ) -> Answer | CallReport | Start:
        """A yes or a no to `question` (asked twice at most), or how the call ended; where
        `movable`, a wish to move the appointment (read by the inbound understander)."""
        s = self._s
        for ask in (question, say.YES_OR_NO):
            if any(is_opt_out(text) for text in await line.earlier()):
                return await self._opt_out(line, decision, ledger)
            text = await line.ask(ask, s.answer_s)
            if text is not None and is_opt_out(text):  # honoured even if they hung up
                return await self._opt_out(line, decision, ledger)
            if line.ended:
                return CallReport("answered", "hung-up")
            if text is None:
                continue
            if read(text).intent.value == "emergency":  # as on an inbound call, at any answer
                return await self._emergency(line, decision, ledger)
            if movable and self._moves is not None and (wish := await self._moves.wish(text)):
                return wish
            answer = classify(text)
            if answer is not Answer.UNCLEAR:
                return answer
        await line.say(say.no_reply(s.clinic, s.callback))
        return CallReport("answered", "no-reply")

    async def _emergency(self, line: _Line, decision: Decision, ledger: Ledger) -> CallReport:
        """The workflows' emergency instruction (audited), and the call ends."""
        ledger.audit_result(decision.appointment_id, "emergency", self._voice.clock.time())
        await line.say(t.EMERGENCY.format(number=self._s.emergency_number))
        return CallReport("answered", "emergency")

    async def _opt_out(self, line: _Line, decision: Decision, ledger: Ledger) -> CallReport:
        """Revoke and add to the DNC list first (one audited transaction), then say so."""
        number = decision.contact.number
        if number is not None:
            ledger.opt_out(number, "call", self._voice.clock.time())
        await line.say(say.opted_out())
        return CallReport("answered", "opted-out")

"""Caller audio into a call session: utterances, early STT, barge-in and its judging."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from typing import TypeVar, cast

from appliance.conversation.barge_in import Action, BargeInRule, judge
from appliance.conversation.completeness import looks_complete
from appliance.conversation.early_stt import CommittableTurns, TentativeTurns
from appliance.conversation.session_base import SessionBase
from appliance.domain import Utterance
from appliance.errors import ApplianceError
from appliance.ports import SpeechActivity

T = TypeVar("T")


class ListeningMixin(SessionBase):
    """Hears the caller all the time; a barge-in stops agent audio and cancels its work."""

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
                if utterance is None and not voiced:
                    utterance = self._end_early(detector)
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

    def _end_early(self, detector: object) -> Utterance | None:
        """Semantic end of turn: the pause's speculative transcript reads complete, so the
        turn ends now instead of after the rest of `[vad] min_silence_ms`."""
        if not self._d.policy.early_end or self._playing:
            return None
        heard = self._early.ready()  # per frame: the cheap checks first
        if heard is None or not isinstance(detector, CommittableTurns):
            return None
        if not looks_complete(heard):
            return None
        utterance = detector.commit()
        if utterance is None:
            return None
        return dataclasses.replace(utterance, ended_early=True)

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

    def _drop_queued(self) -> None:
        """Forget utterances detected before a PCI pause ended (keep hang-ups, failures)."""
        items = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        for item in items:
            if not isinstance(item, Utterance):
                self._queue.put_nowait(item)

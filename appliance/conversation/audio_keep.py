"""The call's side of the quality audio sample: caller turns' audio held in memory during
the call, written to the store at its end only if the call is kept, dropped otherwise.

Only the audio of a stored caller turn is held: the utterance the VAD cut and STT heard.
Frames during the PCI pause never reach the VAD (caller.py drops them first), so no
utterance, and so nothing here, ever holds card digits spoken or keyed. At most
`MAX_HELD_S` of audio is held per call (later turns are not held). The decision and the
write never hold the caller: they run after the call's end, bounded, and a failure is
logged with its code and the audio dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.audio import AudioChunk
from appliance.conversation.timing import within
from appliance.domain import EventKind, SessionEvent
from appliance.errors import ApplianceError, StoreError
from appliance.ports import AudioSink, Clock, TurnAudio
from appliance.quality.audio_sample import AudioSamplePolicy, CallSignals

logger = logging.getLogger(__name__)

MAX_HELD_S = 900.0  # s of caller audio held per call at most (28.8 MB at 16 kHz)
ESCALATIONS = frozenset({EventKind.TRANSFER_REQUESTED, EventKind.WORKFLOW_TRANSFER})


@dataclass(frozen=True, slots=True)
class AudioSampling:
    """What a session needs for the sample: the policy and where kept audio goes."""

    policy: AudioSamplePolicy
    sink: AudioSink


class HeldAudio:
    """One call's caller turns' audio until the call ends (nothing when sampling is off)."""

    def __init__(self, call_id: str, sampling: AudioSampling | None) -> None:
        self._call_id, self._sampling = call_id, sampling
        self.turns: list[TurnAudio] = []
        self.min_logprob: float | None = None
        self._held_s = 0.0

    def hold(self, seq: int, audio: AudioChunk, avg_logprob: float) -> None:
        """Hold stored caller turn `seq`'s utterance audio (if sampling is on)."""
        if self._sampling is None:
            return
        if self.min_logprob is None or avg_logprob < self.min_logprob:
            self.min_logprob = avg_logprob
        if self._held_s + audio.duration > MAX_HELD_S:
            return
        self._held_s += audio.duration
        self.turns.append(TurnAudio(seq, audio))

    def signals(self, outcome: str, events: Sequence[SessionEvent]) -> CallSignals:
        kinds = {e.kind for e in events}
        return CallSignals(
            outcome=outcome,
            stage_failed=EventKind.STAGE_FAILED in kinds,
            escalated=bool(kinds & ESCALATIONS),
            min_logprob=self.min_logprob,
        )

    async def finish(
        self, outcome: str, events: Sequence[SessionEvent], clock: Clock, timeout_s: float
    ) -> str | None:
        """Keep or drop the held audio; the reason it was kept (None: dropped). Never
        raises: a refused write is logged and the audio dropped."""
        sampling, turns = self._sampling, self.turns
        self.turns = []
        if sampling is None or not turns:
            return None
        reason = sampling.policy.keep(self._call_id, self.signals(outcome, events))
        if reason is None:
            return None
        late = StoreError("store-timeout", "the store did not answer in time")
        try:
            work = sampling.sink.keep_audio(self._call_id, reason, turns)
            await within(clock, timeout_s, work, late)
        except ApplianceError as exc:
            code = exc.code
        except Exception as exc:  # never let an unexpected store error escape uncoded
            code = f"store-write-failed:{type(exc).__name__}"
        else:
            return reason
        extra = {"call_id": self._call_id, "stage": "quality-audio", "code": code}
        logger.error("quality audio not kept", extra=extra)
        return None

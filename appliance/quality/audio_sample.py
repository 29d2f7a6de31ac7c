"""Which calls keep their caller audio for the quality reviewer ([quality] audio_sample).

Each call draws one number in [0, 1) from a hash of its id (deterministic, testable, and
the same in every process): it is kept when the draw is below `audio_sample_share`, or,
for an oversampled call, below `audio_oversample`. Oversampled calls are those that
failed (outcome "failed" or a stage failure), were escalated (a transfer was requested)
or had a low-confidence caller turn (Whisper avg logprob below `audio_low_logprob`).
The category is known only when the call ends, so the session keeps the caller turns'
audio in memory during the call and decides at its end (conversation/audio_keep.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from appliance.config_quality import Quality

SAMPLED = "sampled"  # reason codes of a kept call (turn_audio.reason, the audit record)
FAILED = "failed"
ESCALATED = "escalated"
LOW_CONFIDENCE = "low-confidence"
REASONS = (SAMPLED, FAILED, ESCALATED, LOW_CONFIDENCE)


def draw(call_id: str) -> float:
    """The call's number in [0, 1): the first 8 bytes of SHA-256 of its id."""
    digest = hashlib.sha256(call_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True, slots=True)
class CallSignals:
    """What the end of a call says about it (no words)."""

    outcome: str  # the session's outcome: completed, caller-hung-up, failed, ...
    stage_failed: bool = False  # a stage failed during the call
    escalated: bool = False  # a transfer to a person was requested
    min_logprob: float | None = None  # the lowest caller turn's Whisper avg logprob


@dataclass(frozen=True, slots=True)
class AudioSamplePolicy:
    """[quality] as the session uses it."""

    share: float = 0.1
    oversample: float = 0.5
    low_logprob: float = -0.7

    @classmethod
    def from_settings(cls, q: Quality) -> AudioSamplePolicy | None:
        """The policy, or None when the sample is off (no audio is even buffered)."""
        if not q.audio_sample:
            return None
        return cls(q.audio_sample_share, q.audio_oversample, q.audio_low_logprob)

    def category(self, signals: CallSignals) -> str | None:
        """The oversampled category of the call, if any (failed before escalated before
        low-confidence)."""
        if signals.outcome == "failed" or signals.stage_failed:
            return FAILED
        if signals.escalated:
            return ESCALATED
        low = signals.min_logprob
        if low is not None and low < self.low_logprob:
            return LOW_CONFIDENCE
        return None

    def keep(self, call_id: str, signals: CallSignals) -> str | None:
        """The reason the call's audio is kept, or None: it is dropped."""
        value = draw(call_id)
        category = self.category(signals)
        if category is not None and value < self.oversample:
            return category
        if value < self.share:
            return SAMPLED
        return None

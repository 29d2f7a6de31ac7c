"""[quality] settings: the opt-in quality sample of call audio (appliance/quality/audio_sample.py).

Off by default. When on, the greeting says calls may be recorded for quality, and a share
of calls keeps its caller audio (per turn, what went to STT) in the encrypted store for
`[retention] audio_days`. Bad values are coded config errors (below), checked when the
settings are loaded.
"""

from __future__ import annotations

import math

import msgspec

from appliance.errors import ConfigError

AUDIO_DAYS_MAX = 90  # "a short retention": at most this many days


class Quality(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The quality sample of caller audio (off by default)."""

    audio_sample: bool = False  # keep a share of calls' caller audio for reviewers
    audio_sample_share: float = 0.1  # share of all calls kept (0..1), by a hash of the call id
    # share of low-confidence and failed or escalated calls kept (>= audio_sample_share)
    audio_oversample: float = 0.5
    # a call with a caller turn whose Whisper avg logprob is below this is low-confidence
    audio_low_logprob: float = -0.7


def validate_quality(q: Quality, audio_days: int, transcript_days: int) -> None:
    """Shares in 0..1, oversampling at least the base share, a negative logprob bound,
    audio kept 1..AUDIO_DAYS_MAX days and no longer than the turn text."""
    for name, value in (
        ("audio_sample_share", q.audio_sample_share),
        ("audio_oversample", q.audio_oversample),
    ):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ConfigError("config-quality-share", f"quality.{name} must be 0..1: {value}")
    if q.audio_oversample < q.audio_sample_share:
        raise ConfigError(
            "config-quality-oversample",
            "quality.audio_oversample must be >= quality.audio_sample_share",
        )
    if not (math.isfinite(q.audio_low_logprob) and q.audio_low_logprob < 0):
        raise ConfigError(
            "config-quality-logprob",
            f"quality.audio_low_logprob must be a negative number: {q.audio_low_logprob}",
        )
    if not 1 <= audio_days <= min(AUDIO_DAYS_MAX, transcript_days):
        raise ConfigError(
            "config-retention-audio-days",
            f"retention.audio_days must be 1..{AUDIO_DAYS_MAX} and at most"
            f" store.transcript_retention_days: {audio_days}",
        )

"""The `[quality]` settings: the opt-in quality sample of call audio
(appliance/quality/audio_sample.py), where and when the weekly digest and WER golden-set
run are made (appliance/quality/schedule.py), and the cost model of the cost per resolved
call (`[quality.cost]`, appliance/quality/kpi_more.py).

The audio sample is off by default. When on, the greeting says calls may be recorded for
quality, and a share of calls keeps its caller audio (per turn, what went to STT) in the
encrypted store for `[retention] audio_days`. Bad values are coded config errors (below),
checked when the settings are loaded.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

import msgspec

from appliance.config_types import Seconds
from appliance.errors import ConfigError

AUDIO_DAYS_MAX = 90  # "a short retention": at most this many days
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]  # ISO: 1 = Monday .. 7 = Sunday
Hour = Annotated[int, msgspec.Meta(ge=0, le=23)]  # UTC
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class QualityCost(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The host's cost: its purchase amortised per month, and its power. All 0 = no
    cost model (the cost KPIs are left out)."""

    host_per_month: Seconds = 0.0  # currency units per month (purchase / months)
    power_watts: Seconds = 0.0  # the host's mean draw
    price_per_kwh: Seconds = 0.0  # currency units per kWh
    currency: str = "EUR"  # ISO 4217 code, shown with the figures

    @property
    def configured(self) -> bool:
        return self.host_per_month > 0 or self.power_watts * self.price_per_kwh > 0


class Quality(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The quality sample of caller audio (off by default), the weekly schedules, the cost model."""

    audio_sample: bool = False  # keep a share of calls' caller audio for reviewers
    audio_sample_share: float = 0.1  # share of all calls kept (0..1), by a hash of the call id
    # share of low-confidence and failed or escalated calls kept (>= audio_sample_share)
    audio_oversample: float = 0.5
    # a call with a caller turn whose Whisper avg logprob is below this is low-confidence
    audio_low_logprob: float = -0.7
    schedules: bool = True  # the admin makes the weekly digest and runs the WER golden set
    digest_dir: str = ""  # "" = <var>/digests
    digest_weekday: Weekday = 1  # the previous ISO week's digest, from this weekday ...
    digest_hour: Hour = 6  # ... and hour (UTC) on
    wer_weekday: Weekday = 7  # the golden set's weekly run, from this weekday ...
    wer_hour: Hour = 2  # ... and hour (UTC) on
    cost: QualityCost = msgspec.field(default_factory=QualityCost)


def validate_quality(q: Quality, audio_days: int, transcript_days: int) -> None:
    """The audio sample's shares and retention, and the cost model."""
    _validate_audio(q, audio_days, transcript_days)
    _validate_cost(q)


def _validate_audio(q: Quality, audio_days: int, transcript_days: int) -> None:
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


def _validate_cost(q: Quality) -> None:
    """What the types cannot say: a power draw needs its price (and the other way round);
    the currency is a code."""
    c = q.cost
    if (c.power_watts > 0) != (c.price_per_kwh > 0):
        raise ConfigError(
            "config-quality-cost-power",
            "quality.cost.power_watts and price_per_kwh are set together (both or neither)",
        )
    if not _CURRENCY.match(c.currency):
        raise ConfigError(
            "config-quality-cost-currency",
            f"quality.cost.currency is a three-letter code: {c.currency!r}",
        )

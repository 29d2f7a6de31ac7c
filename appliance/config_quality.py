"""The `[quality]` settings: where and when the weekly digest and WER golden-set run are
made (appliance/quality/schedule.py), and the cost model of the cost per resolved call
(`[quality.cost]`, appliance/quality/kpi_more.py)."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from appliance.config_types import Seconds
from appliance.errors import ConfigError

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
    schedules: bool = True  # the admin makes the weekly digest and runs the WER golden set
    digest_dir: str = ""  # "" = <var>/digests
    digest_weekday: Weekday = 1  # the previous ISO week's digest, from this weekday ...
    digest_hour: Hour = 6  # ... and hour (UTC) on
    wer_weekday: Weekday = 7  # the golden set's weekly run, from this weekday ...
    wer_hour: Hour = 2  # ... and hour (UTC) on
    cost: QualityCost = msgspec.field(default_factory=QualityCost)


def validate_quality(q: Quality) -> None:
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

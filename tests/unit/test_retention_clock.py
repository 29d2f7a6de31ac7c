"""The retention clock check on virtual clocks: which wall clocks may set cutoffs."""

from __future__ import annotations

import pytest

from appliance.governance.retention_clock import (
    MAX_GAP_S,
    SLEW,
    TOLERANCE_S,
    Reading,
    RetentionClock,
    StoreTimes,
    boottime,
)

pytestmark = pytest.mark.unit

DAY = 86400.0
W = 1_790_000_000.0
NO_RECORDS = StoreTimes(None, None)


def test_before_a_first_purge_the_audit_log_is_the_reference() -> None:
    clock = RetentionClock()
    assert clock.suspect(Reading(W, 0.0), NO_RECORDS) is None  # a new store
    assert clock.suspect(Reading(W, 0.0), StoreTimes(W + TOLERANCE_S - 1, W - DAY)) is None
    behind = clock.suspect(Reading(W, 0.0), StoreTimes(W + TOLERANCE_S + 1, W - DAY))
    assert behind is not None and "behind the newest audit record" in behind
    assert clock.suspect(Reading(W, 0.0), StoreTimes(W - DAY, W - MAX_GAP_S + 1)) is None
    gap = clock.suspect(Reading(W, 0.0), StoreTimes(W - DAY, W - MAX_GAP_S - 1))
    assert gap is not None and "45 days" in gap


def test_after_a_purge_the_monotonic_clock_is_the_reference() -> None:
    clock = RetentionClock()
    clock.ran(Reading(W, 1000.0))
    store = StoreTimes(W, W)
    slack = TOLERANCE_S + SLEW * DAY
    assert clock.suspect(Reading(W + DAY + slack - 1, 1000.0 + DAY), store) is None
    assert clock.suspect(Reading(W + DAY - slack + 1, 1000.0 + DAY), store) is None
    ahead = clock.suspect(Reading(W + DAY + slack + 1, 1000.0 + DAY), store)
    behind = clock.suspect(Reading(W + DAY - slack - 1, 1000.0 + DAY), store)
    assert ahead is not None and "+" in ahead and behind is not None and "-" in behind
    # with a reference, a gap longer than MAX_GAP_S that the monotonic clock agrees with
    # is a long-running appliance whose purge was off (purge_every_h = 0 and the CLI)
    long_run = Reading(W + 2 * MAX_GAP_S, 1000.0 + 2 * MAX_GAP_S)
    assert clock.suspect(long_run, store) is None


def test_a_skipped_purge_is_not_a_reference() -> None:
    clock = RetentionClock(wall=lambda: W + 365 * DAY, monotonic=lambda: 1000.0 + DAY)
    clock.ran(Reading(W, 1000.0))
    jumped = clock.read()
    assert clock.suspect(jumped, StoreTimes(W, W)) is not None  # not ran(): still W
    assert clock.suspect(Reading(W + 2 * DAY, 1000.0 + 2 * DAY), StoreTimes(W, W)) is None


def test_boottime_counts_forward() -> None:
    first = boottime()
    assert boottime() >= first > 0

"""Whether the wall clock may set retention cutoffs.

The cutoffs are wall-clock times, so a clock stepped forward (NTP correcting a bad RTC, a
mistyped `date`) purges data early: a year ahead deletes nearly everything. Before it
deletes anything, the purge checks the clock against what it can trust, and skips with
the code `retention-clock-suspect` (logged, reported, nothing deleted) when:

1. the wall clock is behind the newest audit record's `at` by more than the tolerance
   (audit times never go backwards: the clock went back, or was ahead when that record
   was written);
2. since the last purge this process ran, the wall clock moved more or less than the
   monotonic clock (CLOCK_BOOTTIME: it counts suspend too) by more than the tolerance
   (`TOLERANCE_S` plus `SLEW` of the elapsed time, what NTP slewing may do);
3. before a first purge in this process (start-up, the CLI): more than `MAX_GAP_S`
   since the last `retention.purge` audit record. The running appliance purges every
   `[retention] purge_every_h` (24 h), so such a gap is a clock far ahead, or an
   appliance that was off that long: then check the clock and run
   `appliance db purge --clock-checked` once.

A purge that ran is the reference for the next check (2); a skipped one is not, so a
clock that stays wrong keeps the purge off until it is put right.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

CLOCK_SUSPECT = "retention-clock-suspect"
TOLERANCE_S = 300.0
SLEW = 0.001  # 1000 ppm: twice the most NTP slews a clock
MAX_GAP_S = 45 * 86400.0


def boottime() -> float:
    """Seconds since boot, suspend included (monotonic where CLOCK_BOOTTIME is missing)."""
    clock_id = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(clock_id) if clock_id is not None else time.monotonic()


@dataclass(frozen=True, slots=True)
class Reading:
    wall: float  # UNIX s
    monotonic: float  # s, any origin


@dataclass(frozen=True, slots=True)
class StoreTimes:
    """What the audit log says about time (UNIX s; None when there is no such record)."""

    newest_at: float | None
    last_purge_at: float | None


class RetentionClock:
    """The clocks a purge reads (injected in tests) and the reading of the last purge
    that ran in this process. One per process (the retention job keeps its own)."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = boottime,
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._max_gap_s = max_gap_s
        self._last: Reading | None = None

    def read(self) -> Reading:
        return Reading(self._wall(), self._monotonic())

    def suspect(self, now: Reading, store: StoreTimes) -> str | None:
        """Why the wall clock looks wrong (PHI-free, numbers only), or None."""
        if store.newest_at is not None and now.wall < store.newest_at - TOLERANCE_S:
            behind = store.newest_at - now.wall
            return f"the wall clock is {behind:.0f} s behind the newest audit record"
        if self._last is not None:
            elapsed = now.monotonic - self._last.monotonic
            step = (now.wall - self._last.wall) - elapsed
            if abs(step) > TOLERANCE_S + SLEW * abs(elapsed):
                return (
                    f"the wall clock moved {step:+.0f} s more than the monotonic clock"
                    " since the last purge"
                )
            return None
        if store.last_purge_at is not None and now.wall - store.last_purge_at > self._max_gap_s:
            days = (now.wall - store.last_purge_at) / 86400.0
            limit = self._max_gap_s / 86400.0
            return f"{days:.0f} days since the last purge, more than {limit:.0f}"
        return None

    def ran(self, now: Reading) -> None:
        """The purge ran at `now`: the reference for the next check."""
        self._last = now

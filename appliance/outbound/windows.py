"""Calling windows, a hard block: when a reminder may ring the callee.

An instant is allowed only when all of these hold:
  - the law's window, 08:00 to 21:00 (end excluded), in the callee's local time: in every
    zone the callee may be in (the area code's zone or zones, and the patient's record
    zone when there is one; when neither is known, the clinic's zone);
  - the clinic's own window ([outbound] window_start/end) in the clinic's local time;
  - the clinic's local date is not a clinic holiday (the schedule's holidays table).
When the callee's zone is unknown, both windows fall in the clinic's zone, so the
narrower of the two applies. zoneinfo only: DST is the zone database's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from appliance.outbound.area_codes import zones_for_area_code
from appliance.outbound.numbers import area_code

LAW_START = time(8, 0)
LAW_END = time(21, 0)
Block = Literal["holiday", "outside-window"]
ZoneBasis = Literal["area-code", "record", "area-code+record", "unknown"]


@dataclass(frozen=True, slots=True)
class ClinicWindow:
    zone: ZoneInfo
    start: time  # clinic local, within LAW_START..LAW_END
    end: time
    holidays: frozenset[date]  # clinic local dates


@dataclass(frozen=True, slots=True)
class CalleeZones:
    zones: tuple[ZoneInfo, ...]  # the law's window must hold in each
    basis: ZoneBasis


def parse_hhmm(value: str) -> time:
    """ "HH:MM" as a time of day ("24:00" is not one: the window ends by 21:00)."""
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


def callee_zones(number: str, record_zone: ZoneInfo | None, clinic: ZoneInfo) -> CalleeZones:
    """Where the callee may be: the area code's zones plus the record's zone; the clinic's
    zone when neither is known."""
    code = area_code(number)
    from_code = [ZoneInfo(name) for name in zones_for_area_code(code)] if code else []
    zones = list(dict.fromkeys([*from_code, *([record_zone] if record_zone else [])]))
    if from_code and record_zone:
        return CalleeZones(tuple(zones), "area-code+record")
    if zones:
        return CalleeZones(tuple(zones), "area-code" if from_code else "record")
    return CalleeZones((clinic,), "unknown")


def _within(moment: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    local = moment.astimezone(zone).time()
    return start <= local < end


def blocked(clinic: ClinicWindow, callee: CalleeZones, moment: datetime) -> Block | None:
    """Why a call may not start at `moment` (aware); None when it may."""
    if moment.astimezone(clinic.zone).date() in clinic.holidays:
        return "holiday"
    if not _within(moment, clinic.zone, clinic.start, clinic.end):
        return "outside-window"
    if not all(_within(moment, zone, LAW_START, LAW_END) for zone in callee.zones):
        return "outside-window"
    return None


def _openings(
    clinic: ClinicWindow, callee: CalleeZones, first: date, last: date
) -> Iterable[datetime]:
    """Every instant at which one of the windows opens, on the days first-1 .. last+1."""
    day = first - timedelta(days=1)
    while day <= last + timedelta(days=1):
        yield datetime.combine(day, clinic.start, clinic.zone)
        for zone in callee.zones:
            yield datetime.combine(day, LAW_START, zone)
        day += timedelta(days=1)


def next_open(
    clinic: ClinicWindow, callee: CalleeZones, after: datetime, before: datetime
) -> datetime | None:
    """The earliest instant in [after, before) when a call may start; None when none.

    The allowed set is an intersection of windows, so its earliest point at or after
    `after` is `after` itself or the opening of one of the windows.
    """
    if after >= before:
        return None
    first, last = after.astimezone(clinic.zone).date(), before.astimezone(clinic.zone).date()
    candidates = [after, *_openings(clinic, callee, first, last)]
    for moment in sorted(c for c in candidates if after <= c < before):
        if blocked(clinic, callee, moment) is None:
            return moment
    return None

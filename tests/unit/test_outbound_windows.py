"""Calling windows on a virtual clock: the law's and the clinic's edges, time zones, DST,
holidays, unknown zones; the area-code table and number parsing (issue 19, part 1)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.config import load_settings
from appliance.errors import ConfigError
from appliance.outbound import area_codes
from appliance.outbound.numbers import area_code, e164
from appliance.outbound.windows import (
    CalleeZones,
    ClinicWindow,
    blocked,
    callee_zones,
    next_open,
    parse_hhmm,
)

pytestmark = pytest.mark.unit

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
CHI = ZoneInfo("America/Chicago")
DENVER = ZoneInfo("America/Denver")
PHOENIX = ZoneInfo("America/Phoenix")
DAY = date(2026, 11, 24)  # a Tuesday
THANKSGIVING = date(2026, 11, 26)


def clinic(start: str = "08:00", end: str = "21:00", zone: ZoneInfo = NY) -> ClinicWindow:
    return ClinicWindow(zone, parse_hhmm(start), parse_hhmm(end), frozenset({THANKSGIVING}))


def at(hhmmss: str, zone: ZoneInfo = NY, day: date = DAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmmss), zone)


UNKNOWN_NY = callee_zones("+15550100001", None, NY)  # 555: no zone known


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        ("07:59:59", False),
        ("08:00:00", True),
        ("20:59:00", True),
        ("20:59:59", True),
        ("21:00:00", False),
        ("03:00:00", False),
        ("23:59:59", False),
    ],
)
def test_the_laws_window_edges(moment: str, allowed: bool) -> None:
    assert (blocked(clinic(), UNKNOWN_NY, at(moment)) is None) is allowed


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        ("08:00:00", False),
        ("08:59:59", False),
        ("09:00:00", True),
        ("17:29:59", True),
        ("17:30:00", False),
        ("20:59:00", False),
    ],
)
def test_the_clinics_narrower_window_edges(moment: str, allowed: bool) -> None:
    window = clinic("09:00", "17:30")
    assert (blocked(window, UNKNOWN_NY, at(moment)) is None) is allowed
    # a callee known to be in the clinic's zone: the same edges
    assert (blocked(window, callee_zones("+12125550123", None, NY), at(moment)) is None) is allowed


@pytest.mark.parametrize(
    ("clinic_time", "allowed"),
    [("10:59:59", False), ("11:00:00", True), ("20:59:59", True), ("21:00:00", False)],
)
def test_a_callee_three_hours_behind_the_clinic(clinic_time: str, allowed: bool) -> None:
    los_angeles = callee_zones("+13105550123", None, NY)
    assert los_angeles == CalleeZones((LA,), "area-code")
    assert (blocked(clinic(), los_angeles, at(clinic_time)) is None) is allowed


@pytest.mark.parametrize(
    ("clinic_time", "allowed"),
    [("07:59:59", False), ("08:00:00", True), ("17:59:59", True), ("18:00:00", False)],
)
def test_a_callee_three_hours_ahead_of_the_clinic(clinic_time: str, allowed: bool) -> None:
    new_york = callee_zones("+12125550123", None, LA)
    assert (blocked(clinic(zone=LA), new_york, at(clinic_time, LA)) is None) is allowed


def test_a_two_zone_area_code_needs_the_window_in_both() -> None:
    panhandle = callee_zones("+18505550123", None, NY)
    assert panhandle.zones == (NY, CHI)
    assert blocked(clinic(), panhandle, at("08:59:59")) == "outside-window"  # 07:59:59 CT
    assert blocked(clinic(), panhandle, at("09:00:00")) is None
    assert blocked(clinic(), panhandle, at("20:59:59")) is None  # 19:59:59 CT


def test_the_record_zone_counts_besides_and_instead_of_the_area_code() -> None:
    assert callee_zones("+15550100001", LA, NY) == CalleeZones((LA,), "record")
    both = callee_zones("+12125550123", LA, NY)
    assert both == CalleeZones((NY, LA), "area-code+record")
    assert blocked(clinic(), both, at("10:59:59")) == "outside-window"
    assert blocked(clinic(), both, at("11:00:00")) is None


def test_an_unknown_zone_uses_the_clinics_zone_and_the_narrower_window() -> None:
    assert (UNKNOWN_NY.zones, UNKNOWN_NY.basis) == ((NY,), "unknown")
    assert callee_zones("+442079460000", None, NY) == CalleeZones((NY,), "unknown")
    narrow = clinic("09:30", "19:00")
    assert next_open(narrow, UNKNOWN_NY, at("07:00:00"), at("23:00:00")) == at("09:30:00")
    assert blocked(narrow, UNKNOWN_NY, at("19:00:00")) == "outside-window"
    # the law's window is the narrower one when the clinic's is wider on a side
    assert next_open(clinic("08:00", "21:00"), UNKNOWN_NY, at("06:00:00"), at("23:00:00")) == at(
        "08:00:00"
    )


def test_dst_phoenix_keeps_standard_time_while_the_clinic_springs_forward() -> None:
    phoenix = callee_zones("+16025550123", None, DENVER)
    assert phoenix.zones == (PHOENIX,)
    before, after = date(2026, 3, 6), date(2026, 3, 9)  # DST began on Sunday 8 March 2026
    window = clinic(zone=DENVER)
    assert blocked(window, phoenix, at("08:00:00", DENVER, before)) is None
    assert blocked(window, phoenix, at("08:59:59", DENVER, after)) == "outside-window"
    opened = next_open(
        window, phoenix, at("08:30:00", DENVER, after), at("23:00:00", DENVER, after)
    )
    assert opened == at("09:00:00", DENVER, after) == at("08:00:00", PHOENIX, after)


@pytest.mark.parametrize(
    ("night_before", "morning", "utc_hour"),
    [(date(2026, 3, 7), date(2026, 3, 8), 12), (date(2026, 10, 31), date(2026, 11, 1), 13)],
)
def test_the_window_opens_at_8_local_on_the_dst_change_days(
    night_before: date, morning: date, utc_hour: int
) -> None:
    opened = next_open(
        clinic(), UNKNOWN_NY, at("21:00:00", NY, night_before), at("23:00:00", NY, morning)
    )
    assert opened == at("08:00:00", NY, morning)
    assert opened is not None and opened.astimezone(ZoneInfo("UTC")).hour == utc_hour
    assert blocked(clinic(), UNKNOWN_NY, opened - timedelta(seconds=1)) == "outside-window"


def test_clinic_holidays_are_off_and_the_next_day_opens() -> None:
    assert blocked(clinic(), UNKNOWN_NY, at("10:00:00", day=THANKSGIVING)) == "holiday"
    opened = next_open(
        clinic("09:00", "17:00"),
        UNKNOWN_NY,
        at("10:00:00", day=THANKSGIVING),
        at("12:00:00", day=THANKSGIVING + timedelta(days=1)),
    )
    assert opened == at("09:00:00", day=THANKSGIVING + timedelta(days=1))


def test_no_window_before_the_deadline_is_none() -> None:
    window = clinic("09:00", "17:00")
    tomorrow = DAY + timedelta(days=1)
    assert next_open(window, UNKNOWN_NY, at("17:00:00"), at("08:59:59", day=tomorrow)) is None
    assert next_open(window, UNKNOWN_NY, at("10:00:00"), at("10:00:00")) is None
    assert next_open(window, UNKNOWN_NY, at("10:00:00"), at("11:00:00")) == at("10:00:00")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (212) 555-0123", "+12125550123"),
        ("212.555.0123", "+12125550123"),
        ("1-212-555-0123", "+12125550123"),
        ("+15550100001", "+15550100001"),
        ("+44 20 7946 0000", "+442079460000"),
        ("+1 112 555 0123", None),  # no area code starts with 1
        ("555-0123", None),
        ("+1212555012", None),
        ("call me", None),
        ("", None),
    ],
)
def test_numbers_are_read_as_e164(raw: str, expected: str | None) -> None:
    assert e164(raw) == expected


def test_area_codes() -> None:
    assert area_code("+12125550123") == "212" and area_code("+442079460000") is None


def test_the_area_code_table_is_well_formed() -> None:
    listed = [c for codes in area_codes._ONE_ZONE.values() for c in codes.split()]
    assert len(listed) == len(set(listed)), "an area code listed twice"
    assert not set(listed) & set(area_codes._TWO_ZONES), "a code in both tables"
    assert all(len(c) == 3 and c.isdigit() and c[0] in "23456789" for c in area_codes.AREA_ZONES)
    for zones in area_codes.AREA_ZONES.values():
        for zone in zones:
            ZoneInfo(zone)  # every zone exists in the zone database
    assert len(area_codes.AREA_ZONES) > 300


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("08:00", "21:00", True),
        ("09:30", "17:00", True),
        ("07:59", "20:00", False),
        ("09:00", "21:01", False),
        ("12:00", "12:00", False),
        ("18:00", "09:00", False),
    ],
)
def test_the_clinics_window_must_lie_within_the_laws(
    tmp_path: Path, start: str, end: str, ok: bool
) -> None:
    config = tmp_path / "a.toml"
    config.write_text(f'[outbound]\nwindow_start = "{start}"\nwindow_end = "{end}"\n', "utf-8")
    if ok:
        assert load_settings(config).outbound.window_start == start
        return
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert err.value.code == "config-outbound-window"

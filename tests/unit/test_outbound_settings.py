"""The [outbound] section: route, call-back number, pacing and retry delays, validated
with coded errors; `reminders run`'s options override it for one run."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pytest

from appliance.cli.outbound import _check_can_run
from appliance.config import Settings, load_settings
from appliance.errors import ConfigError, OutboundError
from appliance.outbound.run import Overrides, run_options

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 25)
SECTION = """[outbound]
enabled = true
route = "pbx.clinic.lan:5060"
callback = "+1 (555) 010-0999"
max_concurrent = 3
inbound_reserve = 1
ring_s = 25.0
busy_retry_s = 600.0
no_answer_retry_s = 1200.0
failed_retry_s = 300.0
"""


def settings(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "a.toml"
    config.write_text(text, "utf-8")
    return load_settings(config)


def test_the_section_sets_the_runs_route_pacing_and_retries(tmp_path: Path) -> None:
    o = settings(tmp_path, SECTION).outbound
    options = run_options(o, DAY, Overrides())
    assert (options.day, options.via, options.callback) == (
        DAY, "pbx.clinic.lan:5060", "+1 (555) 010-0999"
    )  # fmt: skip
    p = options.pacing
    assert (p.max_concurrent, p.inbound_reserve, p.ring_s) == (3, 1, 25.0)
    assert [p.retry_after(o) for o in ("busy", "no-answer", "failed")] == [600.0, 1200.0, 300.0]


def test_the_command_line_overrides_the_section(tmp_path: Path) -> None:
    o = settings(tmp_path, SECTION).outbound
    given = Overrides("10.0.0.9:5070", "555 010 0111", 5062, 1, 0)
    options = run_options(o, DAY, given)
    assert (options.via, options.callback, options.sip_port) == (
        "10.0.0.9:5070", "555 010 0111", 5062
    )  # fmt: skip
    assert (options.pacing.max_concurrent, options.pacing.inbound_reserve) == (1, 0)
    assert options.pacing.busy_retry_s == 600.0  # no option for it: the section's


def test_the_defaults_have_no_route_and_a_run_needs_one(tmp_path: Path) -> None:
    plain = settings(tmp_path, "[outbound]\nenabled = true\n")
    assert (plain.outbound.route, plain.outbound.callback) == ("", "")
    args = argparse.Namespace(via="", callback="", max_concurrent=None, inbound_reserve=None)
    with pytest.raises(OutboundError) as err:
        _check_can_run(plain, args)
    assert err.value.code == "outbound-no-route"
    _check_can_run(settings(tmp_path, SECTION), args)  # the section's route and number
    _check_can_run(plain, argparse.Namespace(**{**vars(args), "via": "pbx", "callback": "5"}))
    with pytest.raises(OutboundError) as err:
        _check_can_run(
            settings(tmp_path, SECTION), argparse.Namespace(**{**vars(args), "max_concurrent": 0})
        )
    assert err.value.code == "outbound-bad-pacing"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ('route = "pbx.clinic.lan"', "config-outbound-route"),  # no port
        ('route = "pbx:99999"', "config-outbound-route"),
        ('route = "sip:pbx:5060"', "config-outbound-route"),
        ('callback = "call us"', "config-outbound-callback"),
        ('callback = "12"', "config-outbound-callback"),
        ("max_concurrent = 0", "config-invalid"),
        ("inbound_reserve = -1", "config-invalid"),
        ("ring_s = 300.0", "config-invalid"),
        ("busy_retry_s = -5.0", "config-invalid"),
        ("dial_rate = 3", "config-invalid"),  # no such setting
    ],
)
def test_bad_settings_are_refused_with_their_code(tmp_path: Path, line: str, code: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings(tmp_path, f"[outbound]\n{line}\n")
    assert err.value.code == code

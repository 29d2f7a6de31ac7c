"""SIP session timers (RFC 4028) on a real agent worker, with SIPp as the caller.

A `PjsipTelephony` in this process answers; SIPp scenarios (tests/e2e/sipp/uac_timer*.xml)
check the 200 OK's Session-Expires / Require: timer, the 422 with Min-SE for a too short
interval, the 421 for a caller without timer support when timers are required, the
appliance refreshing the session as refresher, and the same through the Kamailio edge.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import msgspec
import pytest

from appliance.config import Sip, load_settings
from appliance.errors import ConfigError
from tests.conftest import free_port
from tests.integration.test_sip_edge import edge
from tests.integration.test_sip_worker import hold
from tests.integration.test_telephony import running, sip_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

SCENARIOS = Path(__file__).parents[1] / "e2e" / "sipp"
SUPPORTED = "Supported: timer"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            'session_timer = "sometimes"',
            "Invalid enum value 'sometimes' - at `$.sip.session_timer`",
        ),
        ("min_se_s = 60", "Expected `int` >= 90 - at `$.sip.min_se_s`"),
        (
            "session_expires_s = 100\nmin_se_s = 120",
            "sip.session_expires_s must be >= sip.min_se_s",
        ),
    ],
)
def test_bad_session_timer_settings_are_refused(tmp_path: Path, lines: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[sip]\n{lines}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert info.value.code == "config-invalid" and message in str(info.value)


def test_default_session_timer_settings() -> None:
    sip = load_settings().sip
    assert (sip.session_timer, sip.session_expires_s, sip.min_se_s) == ("optional", 1800, 90)


def timer_settings(**timers: object) -> Sip:
    return msgspec.structs.replace(sip_settings(), ring_s=0.0, **timers)


def run_scenario(
    port: int, name: str, timeout: float = 30, **fields: str
) -> subprocess.CompletedProcess[str]:
    """SIPp with scenario `name`, each __KEY__ in it replaced by fields[key]."""
    text = (SCENARIOS / name).read_text()
    for key, value in fields.items():
        text = text.replace(f"__{key}__", value)
    assert "__" not in text.split("-->", 1)[1], "placeholder left in the scenario"
    scenario = Path(tempfile.mkdtemp(prefix="sipp-")) / name
    scenario.write_text(text)
    cmd = ["sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-nostdin", "-i", "127.0.0.1"]
    cmd += ["-p", str(free_port()), "-mp", str(free_port()), "-m", "1"]
    cmd += ["-timeout", f"{int(timeout)}s", "-timeout_error"]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
    finally:
        shutil.rmtree(scenario.parent, ignore_errors=True)


def passed(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def timer_call(port: int, headers: str, expect: str, require: bool = True) -> None:
    """A call with `headers` in its INVITE whose 200 OK must have a Session-Expires
    matching `expect` (and Require: timer if `require`)."""
    out = run_scenario(
        port,
        "uac_timer.xml",
        HEADERS=headers,
        EXPECT_SE=expect,
        REQUIRE=str(require).lower(),
        HOLD_MS="500",
    )
    passed(out)


async def test_a_timer_invite_gets_session_expires_and_require_timer() -> None:
    async with running(timer_settings(), hold) as telephony:
        headers = f"{SUPPORTED}\n      Session-Expires: 90;refresher=uac\n      Min-SE: 90"
        timer_call(telephony.sip_port, headers, "^ *90;refresher=uac")


async def test_always_sets_our_session_expires_for_a_caller_that_asks_for_none() -> None:
    async with running(timer_settings(session_timer="always", session_expires_s=600), hold) as t:
        # PJSIP makes itself the refresher and, as it does then, sends no Require: timer
        timer_call(t.sip_port, SUPPORTED, "^ *600;refresher=uas", require=False)


async def test_session_expires_below_min_se_gets_422_with_our_min_se() -> None:
    async with running(timer_settings(min_se_s=120), hold) as telephony:
        headers = f"{SUPPORTED}\n      Session-Expires: 90;refresher=uac"
        out = run_scenario(
            telephony.sip_port,
            "uac_timer_refused.xml",
            HEADERS=headers,
            CODE="422",
            HEADER="Min-SE:",
            VALUE="^ *120",
        )
        passed(out)
        assert telephony.active_calls() == 0


async def test_required_timers_refuse_a_caller_without_timer_support_with_421() -> None:
    async with running(timer_settings(session_timer="required"), hold) as telephony:
        out = run_scenario(
            telephony.sip_port,
            "uac_timer_refused.xml",
            HEADERS="Subject: no session timers",
            CODE="421",
            HEADER="Require:",
            VALUE="timer",
        )
        passed(out)
        assert telephony.active_calls() == 0


@pytest.mark.slow
async def test_the_appliance_as_refresher_refreshes_at_half_the_interval() -> None:
    """Smallest legal interval (90 s): the re-INVITE must come at ~45 s (this test: ~46 s)."""
    # SIPp sends no RTP here: the RTP inactivity timeout is off for this call
    async with running(timer_settings(), hold, rtp_timeout_s=0) as telephony:
        started = time.monotonic()
        out = await asyncio.to_thread(
            run_scenario,
            telephony.sip_port,
            "uac_timer_refresh.xml",
            80,
            SE="90",
            REFRESH_MS="60000",
        )
        passed(out)
        elapsed = time.monotonic() - started
        assert 44 < elapsed < 60, elapsed  # refreshed at half the interval, not at once


async def test_through_the_kamailio_edge_timers_and_422_pass_unchanged() -> None:
    async with (
        running(timer_settings(min_se_s=120), hold) as telephony,
        edge(1, telephony.sip_port) as sip_edge,
    ):
        port = sip_edge.port
        headers = f"{SUPPORTED}\n      Session-Expires: 150;refresher=uac"
        await asyncio.to_thread(timer_call, port, headers, "^ *150;refresher=uac")
        short = f"{SUPPORTED}\n      Session-Expires: 90;refresher=uac"
        out = await asyncio.to_thread(
            run_scenario,
            port,
            "uac_timer_refused.xml",
            HEADERS=short,
            CODE="422",
            HEADER="Min-SE:",
            VALUE="^ *120",
        )
        passed(out)

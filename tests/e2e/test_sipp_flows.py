"""SIPp call flows against the running appliance (through its Kamailio edge):
CANCEL while it rings, BYE from the caller in the middle of the agent's reply, and a
re-INVITE hold/unhold while the agent speaks. After each, no call is left open."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SOUNDS
from tests.e2e.test_sipp import SCENARIOS, failed, sipp, successful, wait_ended

pytestmark = pytest.mark.e2e

PROMPT = "agent-pass"  # 3.3 s: "Please enter your password followed by the pound key."
GREETING_MS = 11_000  # the greeting is ~9 s; the caller speaks after it
# From the prompt's start: 3.5 s after it ends. By then the caller's turn is transcribed
# (STT done ~1 s after the end of speech, ~2-3 s on a loaded machine) and the reply (the
# filler at ~1.9 s, the reply's own audio from ~2.7 s, one ~2.5 s sentence) is playing;
# at 5.7 s a short reply had sometimes already ended.
BYE_AFTER_PROMPT_MS = 6_800


def active_calls(appliance) -> float:
    match = re.search(r"^appliance_calls_active\S* (\S+)$", appliance.metrics(), re.M)
    return float(match.group(1)) if match else 0.0


def wait_idle(appliance, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if active_calls(appliance) == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"calls still active: {active_calls(appliance)}")


def test_cancel_while_ringing_gets_487_and_leaves_nothing_open(appliance) -> None:
    before = {c["call_id"] for c in appliance.calls()}
    out = sipp(
        f"127.0.0.1:{appliance.sip_port}", "-sf", str(SCENARIOS / "uac_cancel.xml"), "-m", "1"
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert successful(out) == 1 and failed(out) == 0
    time.sleep(1.0)
    # never answered: no session started, nothing stored, nothing active
    assert [c for c in appliance.calls() if c["call_id"] not in before] == []
    wait_idle(appliance)
    # and the next caller is answered as usual
    after = sipp(f"127.0.0.1:{appliance.sip_port}", "-sn", "uac", "-m", "1", "-d", "1000")
    assert successful(after) == 1, after.stdout[-2000:]


@pytest.fixture(scope="module")
def bye_scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sipp-bye")
    wav = root / "prompt-ulaw.wav"
    subprocess.run(
        ["sox", str(SOUNDS / f"{PROMPT}.wav"), "-r", "8000", "-c", "1", "-e", "mu-law", str(wav)],
        check=True,
    )
    text = (SCENARIOS / "uac_rtp_prompt.xml").read_text()
    text = text.replace("__WAV__", str(wav)).replace("__GREETING_MS__", str(GREETING_MS))
    scenario = root / "uac_bye_mid_reply.xml"
    scenario.write_text(text.replace("__REPLY_MS__", str(BYE_AFTER_PROMPT_MS)))
    return scenario


def test_bye_from_the_caller_during_the_reply_ends_the_session(appliance, bye_scenario) -> None:
    before = {c["call_id"] for c in appliance.calls()}
    out = sipp(f"127.0.0.1:{appliance.sip_port}", "-sf", str(bye_scenario), "-m", "1")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert successful(out) == 1 and failed(out) == 0
    [call] = wait_ended(appliance, before, 1, timeout=30)
    assert call["outcome"] == "caller-hung-up", call["outcome"]
    # the greeting, then the caller's turn (stored once transcribed); the reply is stored
    # only once it has been played to the end, so the BYE came while it was under way
    speakers = [t["speaker"] for t in call["transcript"]]
    assert speakers == ["agent", "caller"], speakers
    wait_idle(appliance)


@pytest.mark.parametrize("direction", ["sendonly", "inactive"])
def test_hold_and_unhold_mid_greeting_keep_the_call(appliance, tmp_path, direction) -> None:
    before = {c["call_id"] for c in appliance.calls()}
    scenario = tmp_path / "uac_hold.xml"
    text = (SCENARIOS / "uac_hold.xml").read_text().replace("__HOLD__", direction)
    scenario.write_text(text.replace("__HOLD_MS__", "2000"))
    out = sipp(f"127.0.0.1:{appliance.sip_port}", "-sf", str(scenario), "-m", "1")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert successful(out) == 1 and failed(out) == 0
    [call] = wait_ended(appliance, before, 1, timeout=30)
    assert call["outcome"] == "caller-hung-up", call["outcome"]
    wait_idle(appliance)

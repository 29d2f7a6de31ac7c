"""SIPp (Debian sip-tester) against the running appliance: built-in uac, codecs,
a recorded Asterisk prompt as the caller's voice, and 5 simultaneous calls."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import jiwer
import pytest

from tests.conftest import SOUNDS, asterisk_text, free_port

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).parent / "sipp"
PROMPT = "agent-pass"  # "Please enter your password followed by the pound key."
GREETING_MS = 11_000  # the greeting is ~9 s; the caller speaks after it
REPLY_MS = 14_000


def sipp(target: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [
        "sipp",
        target,
        "-nostdin",
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mp",
        str(free_port()),
        "-timeout",
        f"{int(timeout) - 10}s",
        "-timeout_error",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def successful(out: subprocess.CompletedProcess[str]) -> int:
    """Successful calls from SIPp's final statistics screen."""
    match = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", out.stdout)
    assert match, out.stdout[-2000:]
    return int(match.group(1))


def failed(out: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", out.stdout)
    assert match, out.stdout[-2000:]
    return int(match.group(1))


def new_calls(appliance, before: set[str]) -> list[dict]:
    return [c for c in appliance.calls() if c["call_id"] not in before]


def wait_ended(appliance, before: set[str], count: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = new_calls(appliance, before)
        if len(calls) >= count and all(c["outcome"] for c in calls):
            return calls
        time.sleep(0.5)
    raise AssertionError(f"calls did not end: {new_calls(appliance, before)}")


def test_builtin_uac_scenario(appliance) -> None:
    before = {c["call_id"] for c in appliance.calls()}
    out = sipp(f"127.0.0.1:{appliance.sip_port}", "-sn", "uac", "-m", "1", "-d", "2000")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert successful(out) == 1 and failed(out) == 0
    [call] = wait_ended(appliance, before, 1)
    assert call["codec"] == "PCMU"


@pytest.mark.parametrize(
    ("pt", "rtpmap", "codec"),
    [("0", "PCMU/8000", "PCMU"), ("8", "PCMA/8000", "PCMA"), ("9", "G722/8000", "G722")],
)
def test_each_codec_is_answered(appliance, tmp_path, pt, rtpmap, codec) -> None:
    before = {c["call_id"] for c in appliance.calls()}
    scenario = tmp_path / "uac_codec.xml"
    text = (SCENARIOS / "uac_codec.xml").read_text()
    scenario.write_text(text.replace("__PT__", pt).replace("__RTPMAP__", rtpmap))
    out = sipp(f"127.0.0.1:{appliance.sip_port}", "-sf", str(scenario), "-m", "1")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert successful(out) == 1 and failed(out) == 0
    [call] = wait_ended(appliance, before, 1)
    assert call["codec"] == codec


@pytest.fixture(scope="module")
def prompt_scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sipp")
    wav = root / "prompt-ulaw.wav"
    subprocess.run(
        ["sox", str(SOUNDS / f"{PROMPT}.wav"), "-r", "8000", "-c", "1", "-e", "mu-law", str(wav)],
        check=True,
    )
    text = (SCENARIOS / "uac_rtp_prompt.xml").read_text()
    text = text.replace("__WAV__", str(wav)).replace("__GREETING_MS__", str(GREETING_MS))
    scenario = root / "uac_rtp_prompt.xml"
    scenario.write_text(text.replace("__REPLY_MS__", str(REPLY_MS)))
    return scenario


def test_recorded_prompt_is_heard(appliance, prompt_scenario) -> None:
    before = {c["call_id"] for c in appliance.calls()}
    out = sipp(f"127.0.0.1:{appliance.sip_port}", "-sf", str(prompt_scenario), "-m", "1")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert successful(out) == 1 and failed(out) == 0
    [call] = wait_ended(appliance, before, 1)
    caller = [t["text"] for t in call["transcript"] if t["speaker"] == "caller"]
    assert caller, call
    truth = asterisk_text(PROMPT).lower()
    got = re.sub(r"[^a-z' ]+", " ", caller[0].lower())
    truth = re.sub(r"[^a-z' ]+", " ", truth)
    assert jiwer.wer(" ".join(truth.split()), " ".join(got.split())) <= 0.2, (truth, got)
    agent = [t for t in call["transcript"] if t["speaker"] == "agent"]
    assert len(agent) >= 2  # the greeting and a reply


def test_five_simultaneous_calls_each_get_a_greeting(appliance, prompt_scenario) -> None:
    before = {c["call_id"] for c in appliance.calls()}
    out = sipp(
        f"127.0.0.1:{appliance.sip_port}",
        "-sf",
        str(prompt_scenario),
        "-m",
        "5",
        "-l",
        "5",
        "-r",
        "5",
        timeout=180,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert successful(out) == 5 and failed(out) == 0
    calls = wait_ended(appliance, before, 5)
    assert len(calls) == 5
    for call in calls:
        turns = call["transcript"]
        assert turns and turns[0]["speaker"] == "agent"
        assert turns[0]["text"].startswith("You're speaking with the automated assistant of")
    # every greeting's first frame left the SIP port within 2 s of answer
    for call in calls:
        assert call["transcript"][0]["timings"]["first_audio_out"] < 2.0

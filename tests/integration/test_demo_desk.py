"""The demo front desk as its own process (`python -m appliance.demo.desk`): a real SIP
call from a pjsua2 endpoint in this process rings, is answered, hears the line the desk
rendered with piper, and is hung up by the desk; the desk logs the handoff id (never PHI)
and the screen-pop's address, renders its line once, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.audio import FRAME_MS, frames, read_wav, rms_dbfs
from appliance.config import Settings, load_settings
from appliance.demo.config import DESK_RTP_PORTS
from appliance.edge.kamailio import options_ping
from appliance.services.demo_desk import STOP_GRACE_S, DemoDeskChild
from appliance.sip import PjsipCall
from tests.conftest import REPO, free_port, free_ports
from tests.integration.test_telephony import Recorder, running, sip_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

HANDOFF = {
    "X-Appliance-Call": "c-1",
    "X-Appliance-Reason": "caller-request",
    "X-Appliance-Handoff": "h-demo-4711",
    "X-Appliance-Summary": "reason=caller-request; intent=none; stage=start",
}


class DeskProcess:
    """The desk as a child process; its JSON log lines (stderr) arrive on a queue."""

    def __init__(self, config: Path, port: int, *extra: str) -> None:
        cmd = [sys.executable, "-m", "appliance.demo.desk", "--config", str(config)]
        cmd += ["--port", str(port), "--rtp-port", str(free_ports(16)), *extra]
        self.proc = subprocess.Popen(
            cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.raw: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.raw.append(line)
            try:
                self.lines.put(json.loads(line))
            except json.JSONDecodeError:
                continue

    def next(self, message: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                record = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if record.get("msg", record.get("message", "")).startswith(message):
                return record
        raise AssertionError(f"no {message!r} from the desk:\n{''.join(self.raw)[-3000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the desk did not stop within 10 s of SIGTERM") from None


def desk_config(tmp: Path, models: Path) -> Path:
    config = tmp / "appliance.toml"
    config.write_text(f'[paths]\nvar_dir = "{tmp / "var"}"\nmodels_dir = "{models}"\n')
    return config


def voiced_seconds(pcm: bytes) -> float:
    loud = [f for f in frames(pcm, 16_000, pad=False) if rms_dbfs(f) > -40.0]
    return len(loud) * FRAME_MS / 1000


async def test_the_desk_rings_answers_speaks_and_hangs_up(tmp_path: Path, models_dir: Path) -> None:
    port = free_port()
    desk = DeskProcess(desk_config(tmp_path, models_dir), port, "--talk-s", "0.5")
    try:
        desk.next("demo front desk listening")
        [wav] = (tmp_path / "var" / "demo").glob("front-desk-*.wav")  # rendered with piper
        async with running(sip_settings()) as telephony:
            dialled = time.monotonic()
            call = await telephony.dial(f"sip:frontdesk@127.0.0.1:{port}", 10, HANDOFF)
            assert isinstance(call, PjsipCall)
            assert time.monotonic() - dialled >= 0.8  # it rang first (1 s)
            heard = Recorder(call)
            await asyncio.wait_for(call.wait_ended(), 20)
            await heard.task
            assert call.remote_ended  # the desk hung up, not us
            talked = time.monotonic() - dialled
        arrived = desk.next("demo front desk: a transfer arrived", 5)
        assert arrived["handoff_id"] == "h-demo-4711" and arrived["reason"] == "caller-request"
        assert arrived["screenpop"] == "http://127.0.0.1:8080/screenpop/"
        line_s = read_wav(wav.read_bytes()).duration
        assert 3.0 < line_s < 8.0
        assert voiced_seconds(bytes(heard.pcm)) > 0.5 * line_s  # we heard the line
        assert line_s < talked < line_s + 4.0  # ... then it hung up (0.5 s later here)
    finally:
        assert desk.stop() == 0
    assert "stopped" in desk.raw[-1]


async def test_header_values_that_are_not_ids_are_not_logged(
    tmp_path: Path, models_dir: Path
) -> None:
    port = free_port()
    desk = DeskProcess(desk_config(tmp_path, models_dir), port, "--talk-s", "0", "--ring-s", "0")
    try:
        desk.next("demo front desk listening")
        wav = next((tmp_path / "var" / "demo").glob("front-desk-*.wav"))
        rendered_at = wav.stat().st_mtime_ns
        async with running(sip_settings()) as telephony:
            phi = {"X-Appliance-Handoff": "Maria Gonzalez 1980-04-12", "X-Appliance-Reason": ""}
            call = await telephony.dial(f"sip:frontdesk@127.0.0.1:{port}", 10, phi)
            await asyncio.wait_for(call.wait_ended(), 20)
        arrived = desk.next("demo front desk: a transfer arrived", 5)
        assert (arrived["handoff_id"], arrived["reason"]) == ("invalid", "none")
    finally:
        assert desk.stop() == 0
    assert "Gonzalez" not in "".join(desk.raw) and "1980" not in "".join(desk.raw)
    # a second start reads the line it rendered; it does not render it again
    again = DeskProcess(desk_config(tmp_path, models_dir), port)
    try:
        again.next("demo front desk listening")
        assert wav.stat().st_mtime_ns == rendered_at
    finally:
        assert again.stop() == 0


def test_a_desk_that_cannot_listen_exits_with_a_code(tmp_path: Path) -> None:
    """And without a voice it would answer silently: both failures are logged, coded."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        desk = DeskProcess(desk_config(tmp_path, tmp_path / "no-models"), port)
        assert desk.proc.wait(timeout=30) == 2
    assert desk.next("demo desk line not rendered", 5)["code"] == "tts-model-missing"
    assert desk.next("demo front desk cannot listen", 5)["code"].startswith("sip-")


def run_settings(tmp: Path, models: Path, port: int) -> tuple[Path, Settings]:
    config = desk_config(tmp, models)
    rtp = free_ports(DESK_RTP_PORTS + 1)
    config.write_text(
        config.read_text()
        + f"[sip]\nrtp_port = {rtp - 20}\nrtp_port_range = 20\n[demo]\nfront_desk_port = {port}\n"
    )
    return config, load_settings(config)


async def test_appliance_run_s_desk_never_holds_up_start_up_or_shutdown(
    tmp_path: Path, models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    config, settings = run_settings(tmp_path, models_dir, port)
    desk = DemoDeskChild(settings, config)
    started = time.monotonic()
    await desk.start()
    assert time.monotonic() - started < 1.0  # spawned, not waited for
    for _ in range(150):  # it renders its line and listens on its own
        if await options_ping("127.0.0.1", port, 0.2):
            break
    else:
        raise AssertionError("the demo desk did not answer OPTIONS")
    stopping = time.monotonic()
    await desk.stop()
    assert time.monotonic() - stopping < STOP_GRACE_S + 1.0
    assert desk.proc is not None and desk.proc.returncode == 0  # it stopped on SIGTERM
    assert not [r for r in caplog.records if getattr(r, "code", "").startswith("demo-")]


async def test_a_failed_desk_is_logged_with_a_code_and_nothing_else_stops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        config, settings = run_settings(tmp_path, tmp_path / "no-models", taken.getsockname()[1])
        desk = DemoDeskChild(settings, config)
        with caplog.at_level(logging.ERROR):
            await desk.start()  # does not raise
            assert desk.proc is not None
            await asyncio.wait_for(desk.proc.wait(), 30)
            await asyncio.sleep(0.1)  # the watcher logs
    [exited] = [r for r in caplog.records if getattr(r, "code", "") == "demo-desk-exited"]
    assert getattr(exited, "status", None) == 2
    await desk.stop()  # a no-op on a desk that is gone

"""Real calls into a real agent process, for the PHI and PCI leak tests.

- `LlmRecorder`: a tiny OpenAI-compatible HTTP server on loopback that records every
  request body and streams a fixed reply (the agent's [llm] base_url points at it).
- `AgentProcess`: `appliance agent` as a child process with its own config, data
  directory and captured log output.
- `Caller`: a pjsua2 caller in this process that waits for the agent's turns, speaks
  Piper-synthesized phrases, presses keys (RFC 4733) and records what it hears.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from appliance.artifacts.model_files import model_dir
from appliance.audio import AudioChunk, rms_dbfs
from appliance.ports import CallHandle
from appliance.sip import PjsipCall, PjsipTelephony
from appliance.speech.tts import PiperTts
from tests.conftest import REPO, free_port, free_ports
from tests.integration.telephony_peer import loopback_sip

REPLY = "Of course. The front desk will confirm that for you."
SPEECH_DBFS = -45.0


class LlmRecorder:
    """OpenAI-compatible /v1/chat/completions (streamed or not) that keeps request bodies."""

    def __init__(self, reply: str = REPLY) -> None:
        self.bodies: list[bytes] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep the test output quiet
                return

            def do_GET(self) -> None:
                self._json({"object": "list", "data": [{"id": "local", "object": "model"}]})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recorder.bodies.append(body)
                request = json.loads(body or b"{}")
                if not request.get("stream"):
                    message = {"role": "assistant", "content": reply}
                    self._json({"id": "x", "object": "chat.completion", "created": 0,
                                "model": "local", "choices": [{"index": 0, "message": message,
                                "finish_reason": "stop"}]})  # fmt: skip
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for word in reply.split(" "):
                    delta = {"content": word + " "}
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                             "model": "local", "choices": [{"index": 0, "delta": delta,
                             "finish_reason": None}]}  # fmt: skip
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def _json(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class AgentProcess:
    """`appliance agent` on loopback with `extra` TOML appended to its config; with
    `worker`, `appliance agent --worker N` as its systemd unit runs it."""

    def __init__(
        self, root: Path, models: Path, llm_url: str, extra: str = "", worker: int | None = None
    ) -> None:
        self.root, self.var, self.worker = root, root / "var", worker
        self.port, self.admin_port, self.worker_port = free_port(), free_port(), free_ports(2)
        self.config = root / "appliance.toml"
        self.config.write_text(
            f"""
[paths]
var_dir = "{self.var}"
models_dir = "{models}"
[sip]
port = {self.port}
transports = ["udp"]
worker_port = {self.worker_port}
rtp_port = {21000 + (self.port % 300) * 40}
rtp_port_range = 40
[admin]
port = {self.admin_port}
[llm]
base_url = "{llm_url}"
api_key_file = "{self.var}/keys/llm.key"
[llm.server]
enabled = false
[store]
db_file = "{self.var}/appliance.db"
key_file = "{self.var}/keys/db.key"
audit_key_file = "{self.var}/keys/audit-signing.key"
[log]
level = "DEBUG"
{extra}
"""
        )
        self.log = root / "agent.log"
        self.start()

    def start(self) -> None:
        """Start the process (again, after it died: its log goes on in the same file)."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(self.var / "tmp")}
        (self.var / "tmp").mkdir(parents=True, exist_ok=True)
        worker = [] if self.worker is None else ["--worker", str(self.worker)]
        self._readies = self._ready_lines()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "appliance", "--config", str(self.config), "agent",
                 *worker],
                stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env,
            )  # fmt: skip

    @property
    def uri(self) -> str:
        port = self.port if self.worker is None else self.worker_port + self.worker
        return f"sip:clinic@127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited early:\n{self.log.read_text()[-4000:]}")
            if self._ready_lines() > self._readies:
                return
            time.sleep(0.2)
        raise AssertionError(f"agent not ready in {timeout} s:\n{self.log.read_text()[-4000:]}")

    def _ready_lines(self) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count('"agent ready"')

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "appliance", "--config", str(self.config), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


@cache
def voice(models: Path) -> PiperTts:
    return PiperTts.load(model_dir(models, "en_US-joe-medium"), "en_US-joe-medium")


def speech(models: Path, text: str) -> AudioChunk:
    """`text` spoken by the local Piper voice (16 kHz), with 0.3 s of silence after it."""
    chunk = voice(models).synthesize_all(text)
    return AudioChunk(chunk.pcm + bytes(chunk.rate * 2 * 3 // 10), chunk.rate)


class Caller:
    """One call from this process's pjsua2 endpoint; records everything it hears."""

    def __init__(self, call: CallHandle) -> None:
        assert isinstance(call, PjsipCall)
        self.call = call
        self.heard = bytearray()
        self.last_loud = 0.0  # monotonic s of the latest loud frame from the agent
        self.loud_s = 0.0  # s of loud agent audio heard so far
        self.task = asyncio.create_task(self._record())

    async def _record(self) -> None:
        async for chunk in self.call.frames():
            self.heard += chunk.pcm
            if rms_dbfs(chunk.pcm) > SPEECH_DBFS:
                self.last_loud = time.monotonic()
                self.loud_s += chunk.duration

    async def agent_turn(
        self, min_s: float = 0.0, quiet_s: float = 1.2, timeout_s: float = 60.0
    ) -> None:
        """Wait until the agent has spoken for at least `min_s` (so a "One moment." filler
        is not taken for the reply) and then been quiet for `quiet_s`."""
        since, deadline = time.monotonic(), time.monotonic() + timeout_s
        heard_before = self.loud_s
        while time.monotonic() < deadline and not self.task.done():
            await asyncio.sleep(0.05)
            spoke = self.last_loud > since and self.loud_s - heard_before >= min_s
            if spoke and time.monotonic() - self.last_loud >= quiet_s:
                return
        raise AssertionError("the agent did not finish a turn")

    async def say(self, audio: AudioChunk) -> None:
        await self.call.play(audio)
        await self.call.drain()


@asynccontextmanager
async def calling(uri: str) -> AsyncIterator[Caller]:
    base = free_ports(10)
    sip = loopback_sip(port=0, transports=["udp"], rtp_port=base + base % 2, rtp_port_range=8,
                       codecs=["PCMU/8000"])  # fmt: skip
    telephony = PjsipTelephony(sip, user_agent="pytest-caller")

    async def refuse(call: CallHandle) -> None:
        await call.hangup()

    await telephony.start(refuse)
    try:
        caller = Caller(await telephony.dial(uri, timeout=10))
        try:
            yield caller
        finally:
            await caller.call.hangup()
            await asyncio.gather(caller.task, return_exceptions=True)
    finally:
        await telephony.stop()


def metrics(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def leaks(data: bytes, canaries: list[str]) -> list[str]:
    """The canaries found in `data` (case-insensitive; UTF-8 and UTF-16 forms)."""
    low = data.lower()
    found = []
    for canary in canaries:
        c = canary.lower()
        if c.encode() in low or c.encode("utf-16-le") in low:
            found.append(canary)
    return found

"""The synthetic caller: a pjsua2 endpoint in this process that dials the appliance over
loopback, speaks Piper audio (a persona's pace, noise and hesitations) and records what
the agent says, for Whisper to read afterwards. The e2e tests use the same parts.

pjsua2 allows one Endpoint per process: a process runs one `dial` at a time.
"""

from __future__ import annotations

import asyncio
import random
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from appliance.artifacts.model_files import model_dir
from appliance.audio import AudioChunk, rms_dbfs
from appliance.config import Settings, Sip, default_toml, load_settings
from appliance.errors import SimulationError
from appliance.sip import PjsipCall, PjsipTelephony
from appliance.speech.stt import WhisperStt
from appliance.speech.tts import PiperTts

LOUD_DBFS = -45.0  # a frame above this is the agent talking
HESITATION = "Um, "


def loopback_sip(**overrides: object) -> Sip:
    """The embedded default [sip] settings on 127.0.0.1, with `overrides` applied."""
    sip = msgspec.convert(tomllib.loads(default_toml())["sip"], type=Sip)
    return msgspec.structs.replace(sip, host="127.0.0.1", **overrides)


def add_noise(chunk: AudioChunk, noise_db: float, seed: int = 0) -> AudioChunk:
    """White noise at `noise_db` dBFS (RMS) under the audio, clipped to 16 bits."""
    x = np.frombuffer(chunk.pcm, dtype="<i2").astype(np.float64)
    level = 32767.0 * 10 ** (noise_db / 20)
    noisy = x + np.random.default_rng(seed).normal(0.0, level, x.size)
    return AudioChunk(np.clip(noisy, -32768, 32767).astype("<i2").tobytes(), chunk.rate)


@dataclass
class Voice:
    """Piper for the caller's lines, Whisper for what the caller heard (local models)."""

    tts: PiperTts
    stt: WhisperStt

    @classmethod
    def load(cls, models: Path, settings: Settings | None = None) -> Voice:
        s = settings or load_settings(None)
        tts = PiperTts.load(model_dir(models, s.tts.voice), s.tts.voice)
        return cls(tts, WhisperStt.load(model_dir(models, s.stt.model), s.stt))

    def say(
        self, text: str, length_scale: float | None = None, noise_db: float | None = None
    ) -> AudioChunk:
        audio = self.tts.synthesize_all(text, length_scale)
        return audio if noise_db is None else add_noise(audio, noise_db, len(text))

    def text(self, pcm: bytes, rate: int) -> str:
        return self.stt.transcribe_pcm(pcm, rate).text.strip() if pcm else ""


@dataclass
class Caller:
    """A call from this process; records what it hears and when the agent talked."""

    call: PjsipCall
    pcm: bytearray = field(default_factory=bytearray)
    last_loud: float = 0.0
    first_loud: list[float] = field(default_factory=list)  # monotonic s, one a loud burst
    marks: list[int] = field(default_factory=list)  # byte offsets where each turn began

    async def record(self) -> None:
        quiet = True
        async for chunk in self.call.frames():
            self.pcm += chunk.pcm
            if rms_dbfs(chunk.pcm) > LOUD_DBFS:
                self.last_loud = time.monotonic()
                if quiet:
                    self.first_loud.append(self.last_loud)
                quiet = False
            elif time.monotonic() - self.last_loud > 0.5:
                quiet = True

    async def agent_turn(self, quiet_s: float = 2.0, timeout_s: float = 40.0) -> None:
        """Wait until the agent talked after now and was then quiet for `quiet_s`."""
        since, deadline = time.monotonic(), time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.call.ended:
            await asyncio.sleep(0.05)
            if self.last_loud > since and time.monotonic() - self.last_loud >= quiet_s:
                return
        if not self.call.ended:
            raise AssertionError(f"no complete agent turn in {timeout_s} s")

    def reply_gap(self, since: float) -> float | None:
        """Seconds from `since` (the caller stopped) to the agent's next sound, if any."""
        return next((t - since for t in self.first_loud if t >= since), None)

    async def speak(self, audio: AudioChunk) -> None:
        self.marks.append(len(self.pcm))
        await self.call.play(audio)
        await self.call.drain()


async def dial(uri: str, timeout_s: float = 10.0) -> tuple[PjsipTelephony, Caller, Any]:
    """A caller endpoint that follows the agent's REFER, like a PBX phone would; the call,
    and the task recording what it hears. Raises TelephonyError if not answered."""
    rtp = 48000 + random.randrange(50) * 20  # noqa: S311 (a port, not a secret)
    sip = loopback_sip(port=0, rtp_port=rtp, rtp_port_range=20)
    telephony = PjsipTelephony(sip, user_agent="synthetic-caller", accept_transfers=True)

    async def refuse(call: Any) -> None:
        await call.hangup()

    await telephony.start(refuse)
    try:
        call = await telephony.dial(uri, timeout=timeout_s)
    except BaseException:
        await telephony.stop()
        raise
    if not isinstance(call, PjsipCall):
        await telephony.stop()
        raise SimulationError("simulate-dial", "not a SIP call")
    caller = Caller(call)
    return telephony, caller, asyncio.create_task(caller.record())

"""`appliance call`: a real SIP caller for testing an installation.

It dials the appliance, waits for each of its turns to finish, speaks the next
phrase, records everything it hears and reports timings and what it heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import msgspec

from appliance.audio import AudioChunk, rms_dbfs
from appliance.config import Settings
from appliance.errors import TelephonyError
from appliance.ports import CallHandle
from appliance.sip.endpoint import PjsipTelephony

SPEECH_DBFS = -45.0  # a received frame louder than this counts as the agent talking


@dataclass(slots=True)
class Heard:
    """Everything received, with the times at which the agent talked."""

    rate: int
    pcm: bytearray = field(default_factory=bytearray)
    loud: list[float] = field(default_factory=list)  # monotonic s of loud frames
    last_loud: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def add(self, chunk: AudioChunk) -> None:
        self.pcm += chunk.pcm
        if rms_dbfs(chunk.pcm) > SPEECH_DBFS:
            self.loud.append(chunk.timestamp)
            self.last_loud = chunk.timestamp

    def offset(self, at: float) -> int:
        """Byte offset in `pcm` of monotonic time `at`."""
        samples = int(max(0.0, at - self.started) * self.rate)
        return min(len(self.pcm), samples * 2)

    def first_loud_after(self, at: float) -> float | None:
        return next((t for t in self.loud if t >= at), None)


@dataclass(frozen=True, slots=True)
class TurnReport:
    said: str | None  # the phrase the caller spoke before this turn (None: the greeting)
    gap_s: float | None  # s from the end of the phrase (or answer) to the first agent audio
    start: float  # monotonic s
    end: float  # monotonic s


@dataclass(frozen=True, slots=True)
class CallReport:
    answer_s: float  # s from dialling to answer
    turns: list[TurnReport]
    heard: Heard


async def _record(call: CallHandle, heard: Heard) -> None:
    async for chunk in call.frames():
        heard.add(chunk)


async def _wait_turn(
    heard: Heard, since: float, quiet_s: float, timeout_s: float, recorder: asyncio.Task[None]
) -> float:
    """Wait until the agent has talked after `since` and then been quiet for `quiet_s`.

    Returns early (with what was heard) if the far end hangs up.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = time.monotonic()
        if heard.last_loud >= since and (now - heard.last_loud >= quiet_s or recorder.done()):
            return heard.last_loud
        if recorder.done():
            raise TelephonyError("call-ended-early", "the far end hung up before replying")
    raise TelephonyError("call-no-reply", f"no complete reply from the far end in {timeout_s} s")


async def place_call(
    settings: Settings,
    uri: str,
    phrases: list[tuple[str, AudioChunk]],
    *,
    quiet_s: float = 2.0,
    timeout_s: float = 60.0,
    follow_transfers: bool = False,
) -> CallReport:
    """Dial `uri`, speak each phrase after the agent's turn; with `follow_transfers`, a
    REFER from the agent is followed like a PBX phone would (the new leg is hung up as
    soon as it is answered) instead of declined."""
    sip = msgspec.structs.replace(
        settings.sip, host="127.0.0.1", port=0, rtp_port=settings.sip.rtp_port + 4000
    )
    telephony = PjsipTelephony(sip, user_agent="appliance-call", accept_transfers=follow_transfers)

    async def refuse(call: CallHandle) -> None:
        await call.hangup()

    await telephony.start(refuse)
    try:
        dialled = time.monotonic()
        call = await telephony.dial(uri)
        answered = time.monotonic()
        heard = Heard(rate=call.rate, started=answered)
        recorder = asyncio.create_task(_record(call, heard))
        turns: list[TurnReport] = []
        mark, said = answered, None
        for text, audio in [*phrases, ("", AudioChunk(b"", call.rate))]:
            end = await _wait_turn(heard, mark, quiet_s, timeout_s, recorder)
            first = heard.first_loud_after(mark)
            gap = None if first is None else first - mark
            turns.append(TurnReport(said, gap, first or mark, end))
            if not audio.pcm or recorder.done():
                break
            await call.play(audio)
            await call.drain()
            mark, said = time.monotonic(), text
        await call.hangup()
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder
        return CallReport(answered - dialled, turns, heard)
    finally:
        await telephony.stop()

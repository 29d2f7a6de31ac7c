"""A second pjsua2 endpoint for the telephony tests (pjsua2 allows one Endpoint per process).

    python telephony_peer.py --rtp-port 46000 [--codecs PCMU/8000 ...] [--hangup-after 2.5]

Answers every call (and runs the same on a call it places to follow a REFER, with
--accept-transfers): plays a 440 Hz tone (--tone-hz, --tone-ms), reports when its first
frame left, sends --dtmf digits if given (and reports every digit it receives), then
echoes what it hears (unless --no-echo) until it hangs up (--hangup-after s) or the
caller does. Everything it observes goes to stdout as one JSON object per line:
{"event": "listening", "port": N}, {"event": "call", ...}, {"event": "drained", ...},
{"event": "dtmf", "digit": ...}, {"event": "heard", ...} (with --report-heard),
{"event": "ended", "remote_ended": ..., "heard_hz": ...}.
With --say WAV (repeatable), it answers like a person instead: after the tone, each WAV
is played in turn once the caller has said something and then been silent for
--say-gap s ({"event": "said", "index": i, "now": ...} when it has left).
It exits when stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import tomllib
import wave

import msgspec
import numpy as np

from appliance.audio import AudioChunk, resample
from appliance.config import Sip, default_toml
from appliance.ports import CallHandle
from appliance.sip import PjsipCall, PjsipTelephony

RATE = 16_000


def loopback_sip(**overrides: object) -> Sip:
    """The embedded default [sip] settings on 127.0.0.1, with `overrides` applied."""
    sip = msgspec.convert(tomllib.loads(default_toml())["sip"], type=Sip)
    return msgspec.structs.replace(sip, host="127.0.0.1", **overrides)


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def tone(hz: float, ms: int, rate: int = RATE, level: float = 0.3) -> AudioChunk:
    t = np.arange(rate * ms // 1000) / rate
    pcm = (np.sin(2 * np.pi * hz * t) * level * 32767).astype("<i2").tobytes()
    return AudioChunk(pcm, rate)


def dominant_hz(pcm: bytes, rate: int = RATE) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if x.size < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spectrum[:5] = 0.0  # ignore DC
    return float(np.argmax(spectrum) * rate / x.size)


async def handle(call: CallHandle, args: argparse.Namespace) -> None:
    assert isinstance(call, PjsipCall)
    emit(
        "call",
        call_id=call.call_id,
        codec=call.codec,
        rate=call.rate,
        headers=call.sip_headers,
        direction=call.direction,
    )
    heard = bytearray()
    last_loud = [0.0]  # monotonic s of the latest loud frame heard

    async def listen_and_echo() -> None:
        loud = False
        async for chunk in call.frames():
            heard.extend(chunk.pcm)
            if _loud_part(chunk.pcm):
                last_loud[0] = time.monotonic()
            if args.report_heard and not loud and _loud_part(chunk.pcm):
                loud = True  # the first frame above -40 dBFS on this call
                emit("heard", call_id=call.call_id, now=time.monotonic())
            if echo_on.is_set():
                await call.play(chunk)

    async def report_dtmf() -> None:
        async for key in call.dtmf():
            emit("dtmf", digit=key.digit, duration_ms=key.duration_ms, method=key.method)

    echo_on = asyncio.Event()
    listener = asyncio.create_task(listen_and_echo())
    keys = asyncio.create_task(report_dtmf())
    await call.play(tone(args.tone_hz, args.tone_ms))
    first = await call.drain()
    emit("drained", first_sent=first, now=time.monotonic())
    if args.dtmf:
        await call.send_dtmf(args.dtmf, args.dtmf_method)
    if args.echo:
        echo_on.set()
    replies = asyncio.create_task(answer_turns(call, args, last_loud))
    try:
        await asyncio.wait_for(asyncio.shield(listener), args.hangup_after)
    except TimeoutError:
        await call.hangup()
        await listener
    await keys
    replies.cancel()
    await asyncio.gather(replies, return_exceptions=True)
    loud = _loud_part(bytes(heard))
    emit(
        "ended",
        call_id=call.call_id,
        remote_ended=call.remote_ended,
        heard_hz=dominant_hz(loud),
        heard_s=len(heard) / 2 / RATE,
        loud_s=len(loud) / 2 / RATE,  # s above -40 dBFS
    )


def read_wav(path: str) -> AudioChunk:
    """A mono PCM16 WAV file, at the peer's rate."""
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, "mono PCM16 only"
        pcm, rate = w.readframes(w.getnframes()), w.getframerate()
    return AudioChunk(resample(pcm, rate, RATE), RATE)


async def answer_turns(call: PjsipCall, args: argparse.Namespace, last_loud: list[float]) -> None:
    """--say: each WAV once the caller has spoken since our last turn and gone quiet."""
    turns = [read_wav(path) for path in args.say]
    spoke_until = time.monotonic()  # our own turn's end: the caller must speak after it
    for index, audio in enumerate(turns):
        while not (last_loud[0] > spoke_until and time.monotonic() - last_loud[0] >= args.say_gap):
            await asyncio.sleep(0.05)
        await call.play(audio)
        await call.drain()
        spoke_until = time.monotonic()
        emit("said", call_id=call.call_id, index=index, now=spoke_until)


def _loud_part(pcm: bytes, frame: int = 640) -> bytes:
    """The frames above -40 dBFS (what the caller actually sent, without the silence)."""
    out = bytearray()
    for i in range(0, len(pcm) - frame + 1, frame):
        x = np.frombuffer(pcm[i : i + frame], dtype="<i2").astype(np.float64)
        if np.sqrt(np.mean(x * x)) > 328:
            out.extend(pcm[i : i + frame])
    return bytes(out)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rtp-port", type=int, default=46000)
    parser.add_argument("--codecs", nargs="+", default=["G722/16000", "PCMU/8000", "PCMA/8000"])
    parser.add_argument("--max-calls", type=int, default=4)
    parser.add_argument("--tone-ms", type=int, default=600)
    parser.add_argument("--tone-hz", type=float, default=440.0)
    parser.add_argument(
        "--no-echo", dest="echo", action="store_false", help="silent after the tone"
    )
    parser.add_argument("--hangup-after", type=float, default=2.5)
    parser.add_argument("--dtmf", default="", help="digits to send after the tone")
    parser.add_argument("--dtmf-method", default="rfc4733", choices=["rfc4733", "sip-info"])
    parser.add_argument("--accept-transfers", action="store_true", help="follow REFERs")
    parser.add_argument(
        "--report-heard", action="store_true", help="emit 'heard' at a call's first loud frame"
    )
    parser.add_argument("--say", action="append", default=[], help="a WAV to say, in turn")
    parser.add_argument("--say-gap", type=float, default=1.2, help="s of quiet before --say")
    args = parser.parse_args()
    sip = loopback_sip(
        port=args.port,
        transports=["udp", "tcp"],
        rtp_port=args.rtp_port,
        rtp_port_range=100,
        codecs=args.codecs,
        max_calls=args.max_calls,
    )
    telephony = PjsipTelephony(
        sip, user_agent="telephony-peer", accept_transfers=args.accept_transfers
    )
    await telephony.start(lambda call: handle(call, args))
    emit("listening", port=telephony.sip_port)
    await asyncio.to_thread(sys.stdin.read)  # until the test closes our stdin
    await telephony.stop()
    emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

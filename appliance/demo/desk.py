"""The demo front desk: a SIP phone on loopback that stands in for the clinic's desk in the
demo (`[demo] front_desk`); `appliance run` starts it as a child process.

    python -m appliance.demo.desk [--config FILE] [--port P] [--rtp-port R]
                                  [--ring-s S] [--talk-s S]

Like a person at a desk phone, it rings (180) before it answers, then says one line,
rendered once with the appliance's TTS voice into var/demo/, and hangs up a few seconds
later. For each call it logs (JSON lines on stderr, which `appliance run` shows) that a
transfer arrived, with the handoff id of its X-Appliance-Handoff header and the address of
the screen-pop that shows the handoff packet. Never the caller's number or words: the
X- headers carry ids and codes only, and values that are not id-shaped are logged as
"invalid". One pjsua2 Endpoint per process (appliance/sip). Exit status: 0 when stopped
by SIGTERM or SIGINT, 2 when it cannot listen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import os
import re
import sys
from pathlib import Path

import msgspec

from appliance.artifacts.model_files import model_dir
from appliance.audio import PIPELINE_RATE, AudioChunk, read_wav, write_wav
from appliance.config import Settings, Sip, SipTls, load_settings
from appliance.demo.config import DESK_HOST, DESK_USER, desk_rtp_port, screenpop_url
from appliance.errors import ApplianceError, TelephonyError
from appliance.observability.logs import configure_logging
from appliance.ports import CallHandle
from appliance.services.lifecycle import install_signal_handlers, sd_notify
from appliance.sip import PjsipTelephony

logger = logging.getLogger("appliance.demo.desk")  # also when run as __main__

LINE = "This is the demo front desk of {clinic}. A real clinic's desk phone rings here."
RING_S = 1.0  # s of 180 Ringing before the desk answers
TALK_S = 3.0  # s after the line before the desk hangs up
MAX_CALLS = 4
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # what may go into the log of a header value


def line_text(settings: Settings) -> str:
    return LINE.format(clinic=settings.clinic.name)


def wav_path(settings: Settings) -> Path:
    """var/demo/front-desk-<hash>.wav: a new voice or clinic name renders a new file."""
    key = f"{settings.tts.voice}\n{line_text(settings)}".encode()
    return settings.var_dir / "demo" / f"front-desk-{hashlib.sha256(key).hexdigest()[:12]}.wav"


def render_line(settings: Settings) -> AudioChunk:
    """The line's audio: read from its wav, rendered with piper on first use (blocking).
    When the voice cannot be loaded the desk answers silently (logged with the code)."""
    path = wav_path(settings)
    if path.is_file():
        return read_wav(path.read_bytes())
    from appliance.speech.tts import PiperTts  # only for the first start: piper is big

    voice = settings.tts.voice
    try:
        tts = PiperTts.load(model_dir(settings.models_dir, voice), voice, PIPELINE_RATE)
        try:
            chunk = tts.synthesize_all(line_text(settings))
        finally:
            tts.close()
    except ApplianceError as exc:
        logger.error("demo desk line not rendered", extra={"stage": "demo-desk", "code": exc.code})
        return AudioChunk(b"", PIPELINE_RATE)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(write_wav(chunk))
    partial.replace(path)  # atomic: a reader never sees half a file
    return chunk


def desk_sip(settings: Settings, port: int, rtp_port: int, ring_s: float) -> Sip:
    """The appliance's [sip] settings for a small UDP endpoint on loopback."""
    return msgspec.structs.replace(
        settings.sip,
        host=DESK_HOST,
        port=port,
        transports=["udp"],
        rtp_port=rtp_port,
        rtp_port_range=MAX_CALLS * 4,
        max_calls=MAX_CALLS,
        workers=1,
        ring_s=ring_s,
        srtp="optional",  # whatever the transferred caller offers
        outbound_proxy="",
        registrations=[],
        tls=SipTls(),
        max_call_s=120.0,
    )


def header_id(headers: dict[str, str], name: str) -> str:
    """An id-shaped header value for the log; "none" or "invalid" otherwise."""
    value = headers.get(name, "")
    if not value:
        return "none"
    return value if _ID.match(value) else "invalid"


class FrontDesk:
    """The call handler: log the arrival, say the line, hang up after `talk_s`."""

    def __init__(self, line: AudioChunk, talk_s: float, screenpop: str) -> None:
        self.line, self.talk_s, self.screenpop = line, talk_s, screenpop
        self.calls = 0

    async def answer(self, call: CallHandle) -> None:
        self.calls += 1
        headers: dict[str, str] = getattr(call, "sip_headers", {})
        logger.info(
            "demo front desk: a transfer arrived; its handoff packet is on the screen-pop",
            extra={
                "stage": "demo-desk",
                "call_id": call.call_id,
                "handoff_id": header_id(headers, "X-Appliance-Handoff"),
                "reason": header_id(headers, "X-Appliance-Reason"),
                "screenpop": self.screenpop,
            },
        )
        await call.play(self.line)
        await call.drain()
        ended = getattr(call, "wait_ended", None)  # PjsipCall: the caller may hang up first
        with contextlib.suppress(TimeoutError):
            if ended is not None:
                await asyncio.wait_for(ended(), self.talk_s)
        await call.hangup()


async def serve(settings: Settings, args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    port, rtp = args.port or settings.demo.front_desk_port, args.rtp_port or desk_rtp_port(settings)
    line = await asyncio.to_thread(render_line, settings)
    desk = FrontDesk(line, args.talk_s, screenpop_url(settings))
    telephony = PjsipTelephony(desk_sip(settings, port, rtp, args.ring_s), user_agent="demo-desk")
    try:
        await telephony.start(desk.answer)
    except TelephonyError as exc:
        logger.error(
            "demo front desk cannot listen",
            extra={"stage": "demo-desk", "code": exc.code, "port": port},
        )
        return 2
    logger.info(
        "demo front desk listening",
        extra={"stage": "demo-desk", "uri": f"sip:{DESK_USER}@{DESK_HOST}:{port}"},
    )
    sd_notify("READY=1")
    try:
        await stop.wait()
    finally:
        await telephony.stop()
        logger.info("demo front desk stopped", extra={"stage": "demo-desk", "calls": desk.calls})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance.demo.desk")
    parser.add_argument("--config", type=Path, help="appliance.toml (default: embedded)")
    parser.add_argument("--port", type=int, default=0, help="SIP port ([demo] front_desk_port)")
    parser.add_argument("--rtp-port", type=int, default=0, help="first RTP port")
    parser.add_argument("--ring-s", type=float, default=RING_S)
    parser.add_argument("--talk-s", type=float, default=TALK_S)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ApplianceError as exc:
        configure_logging()
        logger.error(
            "demo front desk: bad settings", extra={"stage": "demo-desk", "code": exc.code}
        )
        return 2
    configure_logging(settings.log.level)
    return asyncio.run(serve(settings, args))


if __name__ == "__main__":
    sys.exit(main())

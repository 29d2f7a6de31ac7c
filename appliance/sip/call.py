"""`PjsipCall`: one live SIP call as the agent plane sees it (implements `CallHandle`).

Everything here runs on the asyncio event loop, except the methods whose names start
with `media_` or `sip_`: the media thread and the endpoint thread call those, and they
only hand work to the loop with `call_soon_threadsafe`. Outgoing audio is queued by
`Playback` (playback.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from appliance.audio import AudioChunk, resample
from appliance.domain import CallId, new_call_id
from appliance.errors import TelephonyError
from appliance.ports import DTMF_DIGITS, DtmfDigit, Whisper
from appliance.sip.attended import Place, ReferReplaces, Whispered, attended_transfer
from appliance.sip.media import PORT_RATE
from appliance.sip.playback import Playback
from appliance.sip.transfer import TransferResult, refer_to

logger = logging.getLogger(__name__)

DTMF_QUEUE = 64  # digits kept for a slow reader; older ones are dropped
DTMF_METHODS = ("rfc4733", "sip-info")
RX_QUEUE_FRAMES = 250  # 5 s of caller audio; older frames are dropped if nobody reads
HANGUP_WAIT_S = 2.0  # s to wait for the call to be disconnected after a local hangup

Hangup = Callable[[], Awaitable[None]]
SendDtmf = Callable[[str, str], Awaitable[None]]  # (digits, method)
Refer = Callable[[str], Awaitable[None]]  # (Refer-To value)


class PjsipCall:
    """A call answered or placed by `PjsipTelephony`; audio is 16 kHz s16 mono."""

    def __init__(self, loop: asyncio.AbstractEventLoop, direction: str) -> None:
        self._loop = loop
        self._call_id = new_call_id()
        self.direction = direction  # "inbound" | "outbound" | "referred" (we follow a REFER)
        self._codec = ""
        self.answered_at: float | None = None  # monotonic s when media became active
        self.ended_at: float | None = None  # monotonic s
        self.remote_ended = False  # True when the far end hung up, vanished or refused
        self.end_reason: str | None = None  # remote-hangup|local-hangup|rtp-timeout|max-duration
        self.status_code: int | None = None  # last SIP status code, once ended
        self.on_hold = False  # the far end holds the call (re-INVITE sendonly/inactive)
        self.rx_dropped = 0  # caller frames dropped because the consumer was stuck
        self._rx: asyncio.Queue[AudioChunk | None] = asyncio.Queue(RX_QUEUE_FRAMES)
        self._ended = asyncio.Event()
        self._active = asyncio.Event()
        self.sip_key = 0  # the endpoint thread's key for this call's leg
        self._out = Playback(self.media_emptied)
        self.outbox = self._out.outbox  # the media thread takes frames from it
        self._hangup: Hangup | None = None
        self._send_dtmf: SendDtmf | None = None
        self._refer: Refer | None = None
        self._place: Place | None = None  # consultation calls (attended transfer)
        self._refer_replaces: ReferReplaces | None = None
        self.sip_headers: dict[str, str] = {}  # X- headers of the INVITE (inbound calls)
        self.remote = ""  # the From URI's user part (inbound calls); PHI: never log it
        self._transfer: asyncio.Future[int] | None = None  # final NOTIFY status of a REFER
        self._dtmf: asyncio.Queue[DtmfDigit | None] = asyncio.Queue(DTMF_QUEUE)

    # --- CallHandle ----------------------------------------------------------------

    @property
    def call_id(self) -> CallId:
        return self._call_id

    @property
    def rate(self) -> int:
        return PORT_RATE

    @property
    def codec(self) -> str:
        return self._codec

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def frames(self) -> AsyncIterator[AudioChunk]:
        """Caller audio, 20 ms per chunk; ends when the call ends."""
        while True:
            chunk = await self._rx.get()
            if chunk is None:
                self._rx.put_nowait(None)  # let any other reader end too
                return
            yield chunk

    async def play(self, chunk: AudioChunk) -> None:
        """Queue audio for the caller. Audio played after the call ended is discarded."""
        if self.ended or not chunk.pcm:
            return
        self._out.play(resample(chunk.pcm, chunk.rate, PORT_RATE))

    async def drain(self) -> float | None:
        """Wait until queued audio was handed to PJSIP; return when its first frame left."""
        return await self._out.drain(lambda: self.ended)

    def stop_playback(self) -> None:
        """Drop all queued audio at once (barge-in)."""
        self._out.stop()

    async def dtmf(self) -> AsyncIterator[DtmfDigit]:
        """Keypad digits (RFC 4733 events and SIP INFO) as they arrive; ends with the call."""
        while True:
            digit = await self._dtmf.get()
            if digit is None:
                self._dtmf.put_nowait(None)
                return
            yield digit

    async def send_dtmf(self, digits: str, method: str = "rfc4733") -> None:
        """Send keypad digits to the far end (RFC 4733 events, or SIP INFO)."""
        if not digits or set(digits) - DTMF_DIGITS or method not in DTMF_METHODS:
            raise TelephonyError("sip-dtmf-invalid", "digits must be 0-9 * # A-D")
        if self.ended or self._send_dtmf is None:
            raise TelephonyError("sip-call-ended", "the call has ended")
        await self._send_dtmf(digits, method)

    async def transfer(
        self, uri: str, headers: dict[str, str] | None = None, within: float = 20.0
    ) -> TransferResult:
        """Blind transfer (REFER) to `uri`, carrying X-`headers` to the target.

        Waits up to `within` s for the outcome. On success the far end is connected to
        the target and this call is hung up; otherwise the call stays with the agent.
        """
        try:
            target = refer_to(uri, headers or {})
        except ValueError as exc:
            raise TelephonyError("sip-transfer-invalid", str(exc)) from None
        refer = self._refer
        if self.ended or refer is None:
            return TransferResult(False, None, "call-ended")
        return await self.refer_and_wait(lambda: refer(target), within)

    async def attended_transfer(
        self,
        uri: str,
        headers: dict[str, str] | None = None,
        ring_s: float = 20.0,
        within: float = 20.0,
        whisper: Whisper | None = None,
        whispered: Whispered | None = None,
    ) -> TransferResult:
        """Attended transfer to `uri`: a consultation call carrying X-`headers`, the
        `whisper` played to whoever answers it (`whispered(complete)` is told), then REFER
        with Replaces (see attended.py).

        Waits up to `ring_s` s for the desk to answer and `within` s for the outcome. On
        success the caller is connected to the desk and this call is hung up; otherwise
        (busy, no answer, refused) the caller stays with the agent.
        """
        place, refer_replaces = self._place, self._refer_replaces
        if self.ended or place is None or refer_replaces is None:
            return TransferResult(False, None, "call-ended")
        if self._transfer is not None and not self._transfer.done():
            raise TelephonyError("sip-transfer-busy", "a transfer is already in progress")
        try:
            return await attended_transfer(
                self, place, refer_replaces, uri, headers or {}, ring_s, within, whisper, whispered
            )
        except ValueError as exc:
            raise TelephonyError("sip-transfer-invalid", str(exc)) from None

    async def refer_and_wait(
        self, send: Callable[[], Awaitable[None]], within: float
    ) -> TransferResult:
        """Send a REFER with `send` and wait up to `within` s for the final NOTIFY; on a
        2xx hang up (the caller is with the target now)."""
        if self.ended:
            return TransferResult(False, None, "call-ended")
        if self._transfer is not None and not self._transfer.done():
            raise TelephonyError("sip-transfer-busy", "a transfer is already in progress")
        self._transfer = outcome = self._loop.create_future()
        await send()
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            await asyncio.wait(
                {outcome, ended}, timeout=within, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ended.cancel()
        if not outcome.done():
            outcome.cancel()
            return TransferResult(False, None, "call-ended" if self.ended else "timeout")
        status = outcome.result()
        if 200 <= status < 300:
            await self.hangup()
            return TransferResult(True, status, "answered")
        return TransferResult(False, status, "refused" if status >= 400 else "failed")

    async def hangup(self) -> None:
        """Hang up (idempotent); returns once the call is disconnected or after 2 s."""
        if self.ended:
            return
        if self._hangup is not None:
            await self._hangup()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), HANGUP_WAIT_S)

    async def wait_ended(self) -> None:
        await self._ended.wait()

    async def wait_answered(self, within: float) -> bool:
        """Wait until media is active (True) or the call ended / `within` s passed (False)."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self._active, self._ended)]
        try:
            await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        return self._active.is_set() and not self.ended

    # --- internals -----------------------------------------------------------------

    def bind(
        self, hangup: Hangup, send_dtmf: SendDtmf | None = None, refer: Refer | None = None
    ) -> None:
        self._hangup = hangup
        self._send_dtmf = send_dtmf
        self._refer = refer

    def bind_attended(self, place: Place, refer_replaces: ReferReplaces) -> None:
        """How to place a consultation call and send a REFER with Replaces."""
        self._place = place
        self._refer_replaces = refer_replaces

    def set_active(self, codec: str) -> None:
        """Media became active (loop side)."""
        self._codec = codec
        if self.answered_at is None:
            self.answered_at = time.monotonic()
        self._active.set()

    def set_ended(self, remote: bool, status_code: int, reason: str) -> None:
        """The call is disconnected (loop side): end frames() and wake drain()."""
        if self.ended:
            return
        self.remote_ended = remote
        self.end_reason = reason
        self.status_code = status_code
        self.ended_at = time.monotonic()
        self._ended.set()
        self._out.drained.set()
        self.outbox.clear()
        self._push(None)
        self._push_dtmf(None)

    def _push(self, chunk: AudioChunk | None) -> None:
        if self._rx.full():
            self._rx.get_nowait()
            self.rx_dropped += 1
        self._rx.put_nowait(chunk)

    def _push_dtmf(self, digit: DtmfDigit | None) -> None:
        if self._dtmf.full():
            self._dtmf.get_nowait()
        self._dtmf.put_nowait(digit)

    def _deliver_dtmf(self, digit: DtmfDigit) -> None:
        if not self.ended:
            self._push_dtmf(digit)

    def _deliver(self, pcm: bytes, at: float) -> None:
        if not self.ended:
            self._push(AudioChunk(pcm, PORT_RATE, at))

    # --- called from other threads -------------------------------------------------

    def media_frame(self, pcm: bytes, at: float) -> None:
        """A caller frame arrived (media thread)."""
        self._threadsafe(self._deliver, pcm, at)

    def media_emptied(self) -> None:
        """The last queued frame was handed to PJSIP (media thread)."""
        self._threadsafe(self._out.drained.set)

    def sip_active(self, codec: str) -> None:
        self._threadsafe(self.set_active, codec)

    def sip_dtmf(self, digit: str, duration_ms: int, method: str) -> None:
        """A keypad digit arrived (endpoint thread)."""
        self._threadsafe(
            self._deliver_dtmf, DtmfDigit(digit, duration_ms, method, time.monotonic())
        )

    def sip_hold(self, held: bool) -> None:
        """The far end put the call on hold or took it off (endpoint thread)."""
        self._threadsafe(self._set_hold, held)

    def _set_hold(self, held: bool) -> None:
        self.on_hold = held

    def sip_transfer(self, status: int, final: bool) -> None:
        """The transferee reported the transfer's progress (endpoint thread)."""
        if final:
            self._threadsafe(self._settle_transfer, status)

    def _settle_transfer(self, status: int) -> None:
        if self._transfer is not None and not self._transfer.done():
            self._transfer.set_result(status)

    def sip_ended(self, remote: bool, status_code: int, reason: str) -> None:
        self._threadsafe(self.set_ended, remote, status_code, reason)

    def _threadsafe(self, fn: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(fn, *args)

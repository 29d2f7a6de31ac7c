"""`CallLeg`, the endpoint-thread side of one call: its pjsua2 Call, media port and handle.

Everything here runs on the endpoint thread (SIP callbacks come from `libHandleEvents`
through the Call subclass in pjcalls.py). Caller URIs and numbers are never logged (PHI).
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import pjsua2 as pj

from appliance.sip.call import PjsipCall
from appliance.sip.media import FramePort, PortPool
from appliance.sip.pjcalls import SipAccount, SipCall

__all__ = ["CallLeg", "LegOwner", "SipAccount"]

logger = logging.getLogger(__name__)

DISCONNECTED = pj.PJSIP_INV_STATE_DISCONNECTED
DTMF_IS_END = 2  # PJMEDIA_STREAM_DTMF_IS_END: the final event of an RFC 4733 digit
DTMF_SEND_MS = 160  # ms per digit we send (pjsua's default)
DTMF_METHODS = {"rfc4733": pj.PJSUA_DTMF_METHOD_RFC2833, "sip-info": pj.PJSUA_DTMF_METHOD_SIP_INFO}


class LegOwner(Protocol):
    """What a CallLeg needs from the stack that owns it."""

    def leg_media_ready(self, leg: CallLeg) -> None: ...
    def leg_ended(self, leg: CallLeg) -> None: ...
    def leg_for_transfer(self) -> CallLeg | None: ...  # None: refuse REFERs from the far end
    def leg_replaced(self, leg: CallLeg, pj_call_id: int) -> CallLeg | None: ...  # Replaces


class CallLeg:
    """One call on the endpoint thread: the pjsua2 Call, its media port and its handle."""

    def __init__(
        self,
        owner: LegOwner,
        acc: pj.Account,
        handle: PjsipCall,
        ports: PortPool,
        pj_call_id: int = -1,
    ) -> None:
        self.key = 0  # set by the owner: a number never reused (pjsua reuses call ids)
        self.owner = owner
        self.handle = handle
        self.call: SipCall | None = SipCall(acc, pj_call_id, self)
        self.port: FramePort | None = None
        self._ports = ports
        self.counted = True  # counts against max_calls until it ends
        self.local_hangup = False
        self.timed_out = False  # hung up because no RTP arrived
        self.too_long = False  # hung up at the maximum call duration
        self.answered_at: float | None = None  # monotonic s when media first became active
        self.on_hold = False  # the far end put us on hold (sendonly/inactive)
        self.dispatched = False
        self.ended = False
        self.media_index: int | None = None
        self._rx_packets = -1  # RTP packets received at the last check
        self._rx_seen_at = 0.0  # monotonic s when that count last grew
        self.media_stats: dict[str, int] = {}  # last stream statistics (sample_stats)

    # --- actions -------------------------------------------------------------------

    def answer(self, status: int) -> None:
        op = pj.CallOpParam(True)
        op.statusCode = status
        assert self.call is not None
        self.call.answer(op)

    def reject(self, status: int, retry_after_s: int | None = None) -> None:
        self.local_hangup = True
        op = pj.CallOpParam(True)
        op.statusCode = status
        assert self.call is not None
        if retry_after_s is None:
            self.call.hangup(op)
            return
        header = pj.SipHeader()
        header.hName = "Retry-After"
        header.hValue = str(retry_after_s)
        op.txOption.headers.append(header)
        # answer(), not hangup(): while pjsua still sets up the media of a new call,
        # hangup() defers the reply and drops its headers; answer() keeps them.
        self.call.answer(op)

    def dial(self, uri: str, headers: dict[str, str] | None = None) -> None:
        """Place the call; `headers` (checked X- headers) go into the INVITE."""
        assert self.call is not None
        op = pj.CallOpParam(True)
        for name, value in (headers or {}).items():
            header = pj.SipHeader()
            header.hName = name
            header.hValue = value
            op.txOption.headers.append(header)
        self.call.makeCall(uri, op)

    def hangup(self) -> None:
        if self.ended or self.call is None:
            return
        self.local_hangup = True
        try:
            self.call.hangup(pj.CallOpParam(True))
        except pj.Error as exc:  # already disconnecting
            logger.debug(
                "hangup ignored",
                extra={"call_id": self.handle.call_id, "pj_status": exc.status},
            )

    def transfer(self, target: str) -> None:
        """Send REFER with `target` (a Refer-To value) to the far end."""
        assert self.call is not None
        self.call.xfer(target, pj.CallOpParam(True))

    def transfer_replaces(self, consult: CallLeg) -> None:
        """Send REFER to the far end, naming `consult`'s far end with Replaces=its dialog."""
        assert self.call is not None and consult.call is not None
        self.call.xferReplaces(consult.call, pj.CallOpParam(True))

    def send_dtmf(self, digits: str, method: str) -> None:
        assert self.call is not None
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = DTMF_METHODS[method]
        prm.duration = DTMF_SEND_MS
        self.call.sendDtmf(prm)

    # --- callbacks -----------------------------------------------------------------

    def on_dtmf(self, digit: str, duration_ms: int, method: int, flags: int) -> None:
        """RFC 4733: only the end event (it has the duration); SIP INFO: the one event."""
        if method == pj.PJSUA_DTMF_METHOD_SIP_INFO:
            self.handle.sip_dtmf(digit.upper(), max(0, duration_ms), "sip-info")
        elif flags & DTMF_IS_END:
            self.handle.sip_dtmf(digit.upper(), max(0, duration_ms), "rfc4733")

    def on_state(self) -> None:
        assert self.call is not None
        ci = self.call.getInfo()
        if ci.state == DISCONNECTED and not self.ended:
            self.ended = True
            code = int(ci.lastStatusCode)
            self.owner.leg_ended(self)
            reason = "rtp-timeout" if self.timed_out else None
            reason = "max-duration" if self.too_long else reason
            if reason is None:
                reason = "local-hangup" if self.local_hangup else "remote-hangup"
            remote = reason in ("remote-hangup", "rtp-timeout")  # the far end left or vanished
            if self.media_stats:
                logger.info(
                    "call media stats",
                    extra={
                        "stage": "telephony",
                        "call_id": self.handle.call_id,
                        **self.media_stats,
                    },
                )
            self.handle.sip_ended(remote, code, reason)

    def on_media(self) -> None:
        assert self.call is not None
        ci = self.call.getInfo()  # keep it: ci.media points into it
        media = ci.media
        held = False
        for mi in media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self._set_hold(False)
                self._connect(int(mi.index))
                return
            held = held or mi.status in (
                pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
                pj.PJSUA_CALL_MEDIA_LOCAL_HOLD,
            )
        self.media_index = None  # on hold (or no audio): no RTP to expect, none to check
        self._set_hold(held)

    def _set_hold(self, held: bool) -> None:
        if held != self.on_hold:
            self.on_hold = held
            self.handle.sip_hold(held)

    def _connect(self, index: int) -> None:
        assert self.call is not None
        aud = self.call.getAudioMedia(index)
        if self.port is None:
            self.port = self._ports.acquire(self.handle.media_frame, self.handle.outbox)
        aud.startTransmit(self.port)
        self.port.startTransmit(aud)
        if self.answered_at is None:
            self.answered_at = time.monotonic()
        if self.media_index != index:
            self.media_index = index
            self._rx_packets, self._rx_seen_at = -1, time.monotonic()
        info = self.call.getStreamInfo(index)
        codec = str(info.codecName)
        self.handle.sip_active(codec)
        if not self.dispatched:
            self.dispatched = True
            self.owner.leg_media_ready(self)

    def rtp_silent_for(self, now: float) -> float:
        """Seconds since the last RTP packet arrived (0 while media is not active)."""
        if self.ended or self.call is None or self.media_index is None:
            return 0.0
        stat = self.call.getStreamStat(self.media_index)
        rtcp = stat.rtcp  # keep each level alive while reading the next (SWIG views)
        rx = rtcp.rxStat
        packets = int(rx.pkt)
        if packets != self._rx_packets:
            self._rx_packets, self._rx_seen_at = packets, now
        return now - self._rx_seen_at

    def sample_stats(self) -> None:
        """Keep the RTP/jitter-buffer counters (the stream is gone once the call ends)."""
        if self.ended or self.call is None or self.media_index is None:
            return
        stat = self.call.getStreamStat(self.media_index)
        rtcp, jbuf = stat.rtcp, stat.jbuf  # keep each level alive (SWIG views)
        rx, tx = rtcp.rxStat, rtcp.txStat
        self.media_stats = {
            "rx_packets": int(rx.pkt),
            "rx_lost": int(rx.loss),  # sequence gaps
            "rx_discarded": int(rx.discard),  # too late or out of order
            "jbuf_lost": int(jbuf.lost),  # frames the jitter buffer never got
            "jbuf_discarded": int(jbuf.discard),  # late frames dropped by the jitter buffer
            "jbuf_empty": int(jbuf.empty),  # playout found no frame: a missing 20 ms
            "tx_packets": int(tx.pkt),
            "media_ms": int((time.monotonic() - (self.answered_at or time.monotonic())) * 1000),
        }

    # --- teardown ------------------------------------------------------------------

    def release(self) -> None:
        """Drop the pjsua2 objects (endpoint thread only) and break the reference cycle."""
        if self.call is not None:
            self.call.leg = None
        if self.port is not None:
            self._ports.release(self.port)
        self.port = None
        self.call = None

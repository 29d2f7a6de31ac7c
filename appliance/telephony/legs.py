"""pjsua2 Account/Call subclasses and `CallLeg`, the endpoint-thread side of one call.

Everything here runs on the endpoint thread (SIP callbacks come from
`libHandleEvents`). Callbacks never let an exception reach C++: they log a code and
carry on. Caller URIs and numbers are never logged (PHI).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import pjsua2 as pj

from appliance.telephony.call import PjsipCall
from appliance.telephony.media import FramePort, PortPool

logger = logging.getLogger(__name__)

DISCONNECTED = pj.PJSIP_INV_STATE_DISCONNECTED


class LegOwner(Protocol):
    """What a CallLeg needs from the stack that owns it."""

    def leg_media_ready(self, leg: CallLeg) -> None: ...
    def leg_ended(self, leg: CallLeg) -> None: ...


def _guard(what: str, call_id: str, fn: Callable[[], None]) -> None:
    """Run a callback body; log and swallow any error (nothing may raise into C++)."""
    try:
        fn()
    except Exception as exc:
        status = exc.status if isinstance(exc, pj.Error) else None
        logger.error(
            "sip callback failed",
            extra={
                "stage": "telephony",
                "code": f"sip-{what}-failed",
                "call_id": call_id,
                "error": type(exc).__name__,
                "pj_status": status,
            },
        )


class SipAccount(pj.Account):  # type: ignore[misc]
    """The local default account: takes every incoming INVITE, registers nowhere."""

    def __init__(self, on_incoming: Callable[[int], None]) -> None:
        super().__init__()
        self._on_incoming: Callable[[int], None] | None = on_incoming

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        handler = self._on_incoming
        if handler is not None:
            _guard("incoming", "-", lambda: handler(int(prm.callId)))

    def detach(self) -> None:
        self._on_incoming = None


class SipCall(pj.Call):  # type: ignore[misc]
    """A pjsua2 Call that forwards its callbacks to its CallLeg."""

    def __init__(self, acc: pj.Account, pj_call_id: int, leg: CallLeg) -> None:
        super().__init__(acc, pj_call_id)
        self.leg: CallLeg | None = leg

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        leg = self.leg
        if leg is not None:
            _guard("state", leg.handle.call_id, leg.on_state)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        leg = self.leg
        if leg is not None:
            _guard("media", leg.handle.call_id, leg.on_media)


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
        self.dispatched = False
        self.ended = False
        self.media_index: int | None = None
        self._rx_packets = -1  # RTP packets received at the last check
        self._rx_seen_at = 0.0  # monotonic s when that count last grew

    # --- actions -------------------------------------------------------------------

    def answer(self, status: int) -> None:
        op = pj.CallOpParam(True)
        op.statusCode = status
        assert self.call is not None
        self.call.answer(op)

    def reject(self, status: int) -> None:
        self.local_hangup = True
        op = pj.CallOpParam(True)
        op.statusCode = status
        assert self.call is not None
        self.call.hangup(op)

    def dial(self, uri: str) -> None:
        assert self.call is not None
        self.call.makeCall(uri, pj.CallOpParam(True))

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

    # --- callbacks -----------------------------------------------------------------

    def on_state(self) -> None:
        assert self.call is not None
        ci = self.call.getInfo()
        if ci.state == DISCONNECTED and not self.ended:
            self.ended = True
            code = int(ci.lastStatusCode)
            self.owner.leg_ended(self)
            reason = "rtp-timeout" if self.timed_out else None
            if reason is None:
                reason = "local-hangup" if self.local_hangup else "remote-hangup"
            self.handle.sip_ended(reason != "local-hangup", code, reason)

    def on_media(self) -> None:
        assert self.call is not None
        ci = self.call.getInfo()  # keep it: ci.media points into it
        media = ci.media
        for mi in media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self._connect(int(mi.index))
                return
        self.media_index = None  # on hold (or no audio): no RTP to expect, none to check

    def _connect(self, index: int) -> None:
        assert self.call is not None
        aud = self.call.getAudioMedia(index)
        if self.port is None:
            self.port = self._ports.acquire(self.handle.media_frame, self.handle.outbox)
        aud.startTransmit(self.port)
        self.port.startTransmit(aud)
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

    # --- teardown ------------------------------------------------------------------

    def release(self) -> None:
        """Drop the pjsua2 objects (endpoint thread only) and break the reference cycle."""
        if self.call is not None:
            self.call.leg = None
        if self.port is not None:
            self._ports.release(self.port)
        self.port = None
        self.call = None

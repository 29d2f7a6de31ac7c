"""pjsua2 Account/Call subclasses: they forward pjsua's callbacks to a `CallLeg`.

Everything here runs on the endpoint thread (callbacks come from `libHandleEvents`).
No exception may reach C++: `_guard` logs a code and carries on. Caller URIs and
numbers are never logged (PHI).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import pjsua2 as pj

from appliance.sip.transfer import caller_user, x_headers

if TYPE_CHECKING:
    from appliance.sip.legs import CallLeg

logger = logging.getLogger(__name__)

DECLINE = 603


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

    def __init__(self, on_incoming: Callable[[int, dict[str, str], str], None]) -> None:
        super().__init__()
        self._on_incoming: Callable[[int, dict[str, str], str], None] | None = on_incoming

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        handler = self._on_incoming
        if handler is not None:
            rdata = prm.rdata  # keep it alive while reading it
            message = str(rdata.wholeMsg)
            headers, remote = x_headers(message), caller_user(message)
            _guard("incoming", "-", lambda: handler(int(prm.callId), headers, remote))

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

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        """A REFER from the far end. Refused (603) unless the owner takes transfers: a
        caller must not make the appliance dial arbitrary URIs (toll fraud)."""
        leg = self.leg
        new_leg = leg.owner.leg_for_transfer() if leg is not None else None
        if new_leg is None or new_leg.call is None:
            prm.statusCode = DECLINE
            return
        prm.newCall = new_leg.call  # pjsua2 binds the new call to it (Call.child)

    def onCallReplaced(self, prm: pj.OnCallReplacedParam) -> None:
        """An INVITE with Replaces took this call's place (attended transfer to us): pjsua
        answered it and ends this one; the new call needs its own Call object."""
        leg = self.leg
        new_id = int(prm.newCallId)
        new_leg = leg.owner.leg_replaced(leg, new_id) if leg is not None else None
        if new_leg is not None and new_leg.call is not None:
            prm.newCall = new_leg.call

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        leg = self.leg
        if leg is not None:
            code, final = int(prm.statusCode), bool(prm.finalNotify)
            _guard("transfer", leg.handle.call_id, lambda: leg.handle.sip_transfer(code, final))

    def onDtmfEvent(self, prm: pj.OnDtmfEventParam) -> None:
        leg = self.leg
        if leg is not None:
            method, flags = int(prm.method), int(prm.flags)
            digit, duration = str(prm.digit), int(prm.duration)
            _guard("dtmf", leg.handle.call_id, lambda: leg.on_dtmf(digit, duration, method, flags))

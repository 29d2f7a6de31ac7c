"""`SipStack`: the pjsua2 Endpoint, transports, account and calls, on the endpoint thread.

Lifecycle (all on the endpoint thread): `setup()` (libCreate, libInit, transports,
codecs, libStart, null audio device, account), `poll()` between commands, and
`teardown()` in the order that keeps pjsua2 from aborting: hang up, drop every
Call/port reference, `acc.shutdown()`, `gc.collect()`, `libDestroy()`. The per-second
call watchdogs (RTP inactivity, maximum duration) are in watchdog.py.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import time
from collections.abc import Callable, Iterator

import pjsua2 as pj

from appliance.config import Sip
from appliance.errors import TelephonyError
from appliance.sip.call import PjsipCall
from appliance.sip.legs import CallLeg, SipAccount
from appliance.sip.media import PortPool
from appliance.sip.pjconfig import (
    account_config,
    create_transports,
    effective_max_calls,
    endpoint_config,
    quiet_pjlib,
    set_codecs,
)
from appliance.sip.watchdog import hang_up_silent, hang_up_too_long

logger = logging.getLogger(__name__)

BUSY_HERE = 486
SERVICE_UNAVAILABLE = 503
OK = 200
RINGING = 180
RTP_CHECK_EVERY_S = 1.0  # s between RTP inactivity checks
TEARDOWN_WAIT_S = 1.0  # s to let BYEs go out and calls disconnect before libDestroy

HandleFactory = Callable[[str], PjsipCall]  # direction -> new handle (created for the loop)


@contextlib.contextmanager
def _pj_errors(code: str, what: str) -> Iterator[None]:
    """pjsua2 errors as a coded TelephonyError ("<what> (pj status N)")."""
    try:
        yield
    except pj.Error as exc:
        raise TelephonyError(code, f"{what} (pj status {exc.status})") from exc


class SipStack:
    """Owns every pjsua2 object. Only the endpoint thread may call its methods."""

    def __init__(
        self,
        sip: Sip,
        user_agent: str,
        new_handle: HandleFactory,
        on_inbound: Callable[[PjsipCall], None],
        log_level: int = 0,
        rtp_timeout_s: float = 0.0,
        accept_transfers: bool = False,
        on_rejected: Callable[[int], None] | None = None,
    ) -> None:
        self.sip = sip
        self._on_rejected = on_rejected  # told the status of each inbound call refused
        self.accept_transfers = accept_transfers  # follow REFERs from the far end (tests)
        self.user_agent = user_agent
        self.log_level = log_level
        self.port = 0  # bound SIP port, once set up
        self.max_calls = sip.max_calls  # capped to pjsua's call slots by setup()
        self.codecs: list[str] = []
        self._new_handle = new_handle
        self._on_inbound = on_inbound
        self._ep: pj.Endpoint | None = None
        self._acc: SipAccount | None = None
        self._legs: dict[int, CallLeg] = {}
        self._ports = PortPool()
        self._ended: list[CallLeg] = []  # disconnected legs to release after the callback
        self._keys = itertools.count(1)
        self.active = 0  # calls counted against max_calls (read from any thread)
        self._rtp_timeout_s = rtp_timeout_s  # 0: never hang up for lack of RTP
        self._next_rtp_check = 0.0
        self.draining = False  # refuse new calls with 503 + Retry-After
        self._ringing: list[tuple[float, CallLeg]] = []  # (monotonic s to answer, leg)

    # --- lifecycle -----------------------------------------------------------------

    def setup(self) -> None:
        quiet_pjlib(self.log_level)
        ep = pj.Endpoint()
        self._ep = ep
        try:
            ep.libCreate()
            ep.libInit(endpoint_config(self.sip, self.user_agent, self.log_level))
            self.max_calls = effective_max_calls(self.sip)
            self.port = create_transports(ep, self.sip)
            self.codecs = set_codecs(ep, list(self.sip.codecs))
            ep.libStart()
            ep.audDevManager().setNullDev()
            acc = SipAccount(self._incoming)
            acc.create(account_config(self.sip, self.port), True)
            self._acc = acc
        except pj.Error as exc:
            raise TelephonyError(
                "sip-start-failed", f"pjsua2 failed to start (pj status {exc.status})"
            ) from exc

    def poll(self, ms: int) -> None:
        assert self._ep is not None
        self._ep.libHandleEvents(ms)
        self._reap()
        now = time.monotonic()
        if self._ringing:
            self._answer_due(now)
        if now >= self._next_rtp_check:
            self._next_rtp_check = now + RTP_CHECK_EVERY_S
            legs = list(self._legs.values())
            if self._rtp_timeout_s > 0:
                hang_up_silent(legs, self._rtp_timeout_s, now)
            if self.sip.max_call_s > 0:
                hang_up_too_long(legs, self.sip.max_call_s, now)

    def teardown(self) -> None:
        ep = self._ep
        if ep is None:
            return
        lingering = self._hangup_and_wait(ep)
        self._ringing.clear()
        for leg in list(self._legs.values()):
            self._release(leg)
        self._ended.clear()
        self._ports.close()
        if self._acc is not None:
            self._acc.detach()
            self._acc.shutdown()
            self._acc = None
        gc.collect()
        # Without calls left, skip libDestroy's fixed 1 s wait for incoming messages.
        ep.libDestroy(0 if lingering else pj.PJSUA_DESTROY_NO_RX_MSG)
        self._ep = None
        del ep
        gc.collect()

    def _hangup_and_wait(self, ep: pj.Endpoint) -> bool:
        """Hang up every call and poll until they are gone; True if some still linger."""
        if self._legs:
            with contextlib.suppress(pj.Error):
                ep.hangupAllCalls()
            deadline = time.monotonic() + TEARDOWN_WAIT_S
            while self._legs and time.monotonic() < deadline:
                self.poll(10)
        return bool(self._legs)

    # --- commands (from the event loop, via the worker) -----------------------------

    def dial(self, uri: str, handle: PjsipCall, headers: dict[str, str] | None = None) -> int:
        """Place a call; returns its key. Raises TelephonyError if pjsua2 refuses it."""
        if self.active >= self.max_calls:
            raise TelephonyError("sip-too-many-calls", f"{self.active} calls already active")
        assert self._acc is not None
        leg = self._add(CallLeg(self, self._acc, handle, self._ports))
        try:
            leg.dial(uri, headers)
        except pj.Error as exc:
            leg.ended = True
            self._release(leg)
            raise TelephonyError(
                "sip-call-failed", f"cannot place the call (pj status {exc.status})"
            ) from exc
        return leg.key

    def hangup(self, key: int) -> None:
        leg = self._legs.get(key)
        if leg is not None:
            leg.hangup()

    def send_dtmf(self, key: int, digits: str, method: str) -> None:
        leg = self._live(key)
        with _pj_errors("sip-dtmf-failed", "cannot send DTMF"):
            leg.send_dtmf(digits, method)

    def transfer(self, key: int, target: str) -> None:
        leg = self._live(key)
        with _pj_errors("sip-transfer-failed", "cannot send REFER"):
            leg.transfer(target)

    def transfer_replaces(self, key: int, consult_key: int) -> None:
        """REFER with Replaces on call `key`, handing its far end to `consult_key`'s."""
        leg, consult = self._live(key), self._live(consult_key)
        with _pj_errors("sip-transfer-failed", "cannot send REFER"):
            leg.transfer_replaces(consult)

    def _live(self, key: int) -> CallLeg:
        leg = self._legs.get(key)
        if leg is None or leg.ended:
            raise TelephonyError("sip-call-ended", "the call has ended")
        return leg

    def start_draining(self) -> None:
        self.draining = True

    def hangup_all(self) -> None:
        for leg in list(self._legs.values()):
            leg.hangup()

    # --- callbacks -----------------------------------------------------------------

    def _incoming(self, pj_call_id: int, headers: dict[str, str], remote: str) -> None:
        assert self._acc is not None
        handle = self._new_handle("inbound")
        handle.sip_headers, handle.remote = headers, remote
        busy = self.draining or self.active >= self.max_calls
        leg = self._add(CallLeg(self, self._acc, handle, self._ports, pj_call_id), counted=not busy)
        if busy:
            if self.draining:
                code = SERVICE_UNAVAILABLE
                leg.reject(code, self.sip.retry_after_s)
            else:
                code = BUSY_HERE
                leg.reject(code)
            logger.info(
                "call rejected",
                extra={"stage": "telephony", "call_id": handle.call_id, "code": code},
            )
            if self._on_rejected is not None:
                self._on_rejected(code)
            return
        if self.sip.ring_s > 0:  # 180 Ringing first: the PBX shows alerting; CANCEL works
            try:
                leg.answer(RINGING)
            except pj.Error:
                pass  # answered below without ringing
            else:
                self._ringing.append((time.monotonic() + self.sip.ring_s, leg))
                return
        self._answer(leg)

    def _answer_due(self, now: float) -> None:
        """Answer the ringing calls whose ring time is up (not those CANCELled meanwhile)."""
        due = [leg for at, leg in self._ringing if at <= now]
        self._ringing = [(at, leg) for at, leg in self._ringing if at > now]
        for leg in due:
            if not leg.ended and leg.key in self._legs:
                self._answer(leg)

    def _answer(self, leg: CallLeg) -> None:
        handle = leg.handle
        try:
            leg.answer(OK)
        except pj.Error as exc:
            logger.error(
                "answer failed",
                extra={
                    "stage": "telephony",
                    "call_id": handle.call_id,
                    "code": "sip-answer-failed",
                    "pj_status": exc.status,
                },
            )
            leg.ended = True
            self._release(leg)  # deleting the Call hangs it up in pjsua

    def leg_media_ready(self, leg: CallLeg) -> None:
        logger.info(
            "call media active",
            extra={
                "stage": "telephony",
                "call_id": leg.handle.call_id,
                "direction": leg.handle.direction,
            },
        )
        if leg.handle.direction in ("inbound", "referred"):
            self._on_inbound(leg.handle)

    def leg_for_transfer(self) -> CallLeg | None:
        """A new outbound leg for a REFER we follow, or None to refuse it."""
        if not self.accept_transfers or self._acc is None or self.active >= self.max_calls:
            return None
        return self._add(CallLeg(self, self._acc, self._new_handle("referred"), self._ports))

    def leg_replaced(self, leg: CallLeg, pj_call_id: int) -> CallLeg | None:
        """The leg for an INVITE with Replaces that took `leg`'s place (pjsua answered it);
        it keeps the X-headers of the call it replaces."""
        if self._acc is None:
            return None
        handle = self._new_handle("inbound")
        handle.sip_headers = dict(leg.handle.sip_headers)
        return self._add(CallLeg(self, self._acc, handle, self._ports, pj_call_id))

    def leg_ended(self, leg: CallLeg) -> None:
        """Disconnected: stop counting it now; release its pjsua2 objects after the callback."""
        if leg.counted:
            leg.counted = False
            self.active -= 1
        self._ended.append(leg)

    # --- bookkeeping ---------------------------------------------------------------

    def _add(self, leg: CallLeg, counted: bool = True) -> CallLeg:
        leg.key = next(self._keys)
        leg.handle.sip_key = leg.key
        leg.counted = counted
        self._legs[leg.key] = leg
        if counted:
            self.active += 1
        return leg

    def _reap(self) -> None:
        while self._ended:
            leg = self._ended.pop()
            self._forget(leg)
            self._release(leg)

    def _forget(self, leg: CallLeg) -> None:
        if self._legs.pop(leg.key, None) is not None and leg.counted:
            self.active -= 1
        leg.counted = False

    def _release(self, leg: CallLeg) -> None:
        self._forget(leg)
        leg.release()

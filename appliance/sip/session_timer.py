"""SIP session timers (RFC 4028) on the agent workers' calls, from `[sip] session_timer`.

off: no timers (`Supported: timer` is not sent; a caller's Session-Expires is ignored).
optional: timers when the far end asks for or supports them (PJSIP's default).
required: the far end must support timers; an INVITE without `Supported: timer` is refused
(PJSIP answers 421 Extension Required with `Require: timer`).
always: timers on every call, even with a far end that does not support them (we refresh).

A Session-Expires below `min_se_s` gets 422 Session Interval Too Small with our Min-SE.
The refresher re-INVITEs (or UPDATEs) at half the interval; without a refresh the call
ends with a BYE shortly before the interval runs out, so a PBX that crashed mid-call
does not leave a stuck agent call (the RTP inactivity timeout covers the media side).
"""

from __future__ import annotations

import pjsua2 as pj

from appliance.config import Sip

TIMER_USE = {
    "off": pj.PJSUA_SIP_TIMER_INACTIVE,
    "optional": pj.PJSUA_SIP_TIMER_OPTIONAL,
    "required": pj.PJSUA_SIP_TIMER_REQUIRED,
    "always": pj.PJSUA_SIP_TIMER_ALWAYS,
}


def apply_session_timer(call: pj.AccountCallConfig, sip: Sip) -> None:
    """Set the account's session timer use and intervals from `sip`."""
    call.timerUse = TIMER_USE[sip.session_timer]
    call.timerSessExpiresSec = sip.session_expires_s
    call.timerMinSESec = sip.min_se_s

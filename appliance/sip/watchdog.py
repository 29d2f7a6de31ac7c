"""Call watchdogs run by the endpoint thread about once a second: the RTP inactivity
timeout (pjsua2 has none: built from stream statistics) and the maximum call duration.
"""

from __future__ import annotations

import logging

import pjsua2 as pj

from appliance.sip.legs import CallLeg

logger = logging.getLogger(__name__)


def hang_up_silent(legs: list[CallLeg], timeout_s: float, now: float) -> None:
    """pjsua2 has no RTP inactivity timeout: hang up calls whose caller went silent for
    more than `timeout_s`; also samples each call's RTP counters."""
    for leg in legs:
        try:
            silent = leg.rtp_silent_for(now)
            leg.sample_stats()
        except pj.Error:
            continue
        if silent > timeout_s and not leg.local_hangup:
            logger.warning(
                "no rtp: hanging up",
                extra={
                    "stage": "telephony",
                    "call_id": leg.handle.call_id,
                    "code": "sip-rtp-timeout",
                    "silent_s": round(silent, 1),
                },
            )
            leg.timed_out = True
            leg.hangup()


def hang_up_too_long(legs: list[CallLeg], max_call_s: float, now: float) -> None:
    """End calls that reached `max_call_s` since they were answered (BYE)."""
    for leg in legs:
        answered = leg.answered_at
        if answered is None or leg.ended or leg.local_hangup:
            continue
        if now - answered >= max_call_s:
            logger.info(
                "maximum call duration: hanging up",
                extra={
                    "stage": "telephony",
                    "call_id": leg.handle.call_id,
                    "code": "sip-max-duration",
                    "max_call_s": max_call_s,
                },
            )
            leg.too_long = True
            leg.hangup()

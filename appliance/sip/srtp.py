"""SRTP (SDES, RFC 4568) on the media of the agent workers, from `[sip] srtp`.

off: plain RTP only. optional: SRTP is offered (RTP/AVP with a=crypto) and used when the
far end takes it; plain RTP otherwise. mandatory: RTP/SAVP only; calls that cannot do
SRTP fail (488 Not Acceptable Here).

SDES carries the keys in the SDP, so they must only travel over TLS. The PBX-facing leg
is TLS at the Kamailio edge; the edge hands the SIP to the workers as plain SIP on
127.0.0.1, which never leaves the host. pjsua's "secure signalling" check (SRTP only
when the SIP hop is TLS/sips) would refuse that loopback hop, so the workers relax it
(`srtpSecureSignaling = 0`); the edge is what enforces TLS towards the PBX. Do not set
`srtp` without `[sip.tls]` in production: the keys would cross the LAN in clear SIP.
"""

from __future__ import annotations

import pjsua2 as pj

SRTP_USE = {
    "off": pj.PJMEDIA_SRTP_DISABLED,
    "optional": pj.PJMEDIA_SRTP_OPTIONAL,
    "mandatory": pj.PJMEDIA_SRTP_MANDATORY,
}
SECURE_SIGNALING_NONE = 0  # pjsua: SRTP whatever the transport of the SIP hop


def apply_srtp(media: pj.AccountMediaConfig, mode: str) -> None:
    """Set the account's SRTP use for `mode` ("off" | "optional" | "mandatory")."""
    media.srtpUse = SRTP_USE[mode]
    media.srtpSecureSignaling = SECURE_SIGNALING_NONE

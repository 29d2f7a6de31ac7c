"""pjsua2 configuration from `appliance.config.Sip`: endpoint, transports, codecs, account.

Every function here runs on the endpoint thread.
"""

from __future__ import annotations

import ctypes
import logging

import pjsua2 as pj

from appliance.audio import FRAME_MS
from appliance.config import Sip
from appliance.errors import TelephonyError
from appliance.sip.media import PORT_RATE
from appliance.sip.session_timer import apply_session_timer
from appliance.sip.srtp import apply_srtp

logger = logging.getLogger(__name__)

PJSUA_MAX_CALLS = 32  # pjsua's documented compile-time default (this wheel: 4, see below)
CALL_SLACK = 2  # pjsua call slots above max_calls, so that we answer 486 ourselves
TOP_PRIORITY = 255
BIND_ATTEMPTS = 20  # tries to find an ephemeral port free for both UDP and TCP

_TRANSPORTS = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP}


def _clib() -> ctypes.CDLL | None:
    """The pjsua2 extension module as a C library (it exports pjlib/pjsua's C symbols)."""
    try:
        return ctypes.CDLL(pj._pjsua2.__file__)
    except (AttributeError, OSError):
        return None


def quiet_pjlib(level: int) -> None:
    """Set pjlib's log level before libCreate(), which otherwise prints its banner to stdout.

    LogConfig only applies from libInit().
    """
    lib = _clib()
    try:
        if lib is not None:
            lib.pj_log_set_level(ctypes.c_int(level))
    except AttributeError:
        logger.debug("pjlib log level not set", extra={"stage": "telephony"})


def pjsua_call_slots(requested: int) -> int:
    """Call slots pjsua really has after libInit().

    pjsua silently clamps uaConfig.maxCalls to its compile-time PJSUA_MAX_CALLS, which
    is 4 in the pjsua2-python 2.15.1 wheel (not the documented 32).
    """
    lib = _clib()
    try:
        return int(lib.pjsua_call_get_max_count()) if lib is not None else requested
    except AttributeError:
        return requested


def effective_max_calls(sip: Sip) -> int:
    """sip.max_calls, capped by the call slots of this pjsua build (warns when capped)."""
    slots = pjsua_call_slots(sip.max_calls + CALL_SLACK)
    if sip.max_calls <= slots:
        return sip.max_calls
    logger.warning(
        "sip.max_calls is above what this pjsua2 build supports: capped",
        extra={
            "stage": "telephony",
            "code": "sip-max-calls-capped",
            "max_calls": sip.max_calls,
            "limit": slots,
        },
    )
    return slots


def endpoint_config(sip: Sip, user_agent: str, log_level: int) -> pj.EpConfig:
    cfg = pj.EpConfig()
    ua = cfg.uaConfig
    ua.threadCnt = 0  # no pjsua worker threads: callbacks run in libHandleEvents()
    ua.mainThreadOnly = True  # anything from other threads is queued to our thread
    ua.maxCalls = min(PJSUA_MAX_CALLS, sip.max_calls + CALL_SLACK)
    ua.userAgent = user_agent
    log = cfg.logConfig
    log.level = log_level  # PJSIP logs carry URIs (PHI): off unless debugging
    log.consoleLevel = log_level
    log.msgLogging = False
    med = cfg.medConfig
    med.clockRate = PORT_RATE
    med.sndClockRate = PORT_RATE
    med.audioFramePtime = FRAME_MS
    med.ptime = FRAME_MS
    med.channelCount = 1
    med.noVad = True  # send every frame: silence suppression would confuse the far end's VAD
    med.ecTailLen = 0  # no echo canceller (no sound device)
    return cfg


def create_transports(ep: pj.Endpoint, sip: Sip) -> int:
    """Create the configured SIP transports on one port; returns the bound port."""
    kinds = [_TRANSPORTS[name] for name in sip.transports]
    if sip.port != 0:
        for kind in kinds:
            _create_transport(ep, kind, sip.host, sip.port)
        return sip.port
    for _ in range(BIND_ATTEMPTS):
        first = _create_transport(ep, kinds[0], sip.host, 0)
        port = int(ep.transportGetInfo(first).localName.rsplit(":", 1)[1])
        try:
            for kind in kinds[1:]:
                _create_transport(ep, kind, sip.host, port)
        except TelephonyError:
            ep.transportClose(first)
            continue
        return port
    raise TelephonyError("sip-bind-failed", "no ephemeral port free for all SIP transports")


def _create_transport(ep: pj.Endpoint, kind: int, host: str, port: int) -> int:
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = host
    tcfg.publicAddress = host
    tcfg.port = port
    try:
        return int(ep.transportCreate(kind, tcfg))
    except pj.Error as exc:
        raise TelephonyError(
            "sip-bind-failed", f"cannot listen on {host}:{port} (pj status {exc.status})"
        ) from exc


def set_codecs(ep: pj.Endpoint, wanted: list[str]) -> list[str]:
    """Enable exactly the `wanted` codecs ("G722/16000", ...) in that order of preference.

    Returns the codec ids enabled; raises TelephonyError if none of them exists.
    """
    enabled: list[str] = []
    infos = ep.codecEnum2()  # keep the vector alive while reading it
    available = [info.codecId for info in infos]
    for codec_id in available:
        ep.codecSetPriority(codec_id, 0)
    for rank, name in enumerate(wanted):
        match = [c for c in available if c.lower().startswith(name.lower().rstrip("/") + "/")]
        if not match:
            logger.warning("codec not available", extra={"stage": "telephony", "codec": name})
            continue
        ep.codecSetPriority(match[0], TOP_PRIORITY - rank)
        enabled.append(match[0])
    if not enabled:
        raise TelephonyError("sip-no-codec", f"none of the configured codecs exists: {wanted}")
    return enabled


def account_config(sip: Sip, port: int) -> pj.AccountConfig:
    """A local account: no registration; as the default account it takes any user."""
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:appliance@{sip.host}:{port}"
    acfg.regConfig.registerOnAdd = False
    tcfg = acfg.mediaConfig.transportConfig
    tcfg.boundAddress = sip.host
    tcfg.publicAddress = sip.host
    tcfg.port = sip.rtp_port
    tcfg.portRange = sip.rtp_port_range
    acfg.natConfig.iceEnabled = False
    acfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
    acfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
    apply_srtp(acfg.mediaConfig, sip.srtp)
    apply_session_timer(acfg.callConfig, sip)
    if sip.outbound_proxy:  # new outgoing calls go through the SIP edge (a loose route)
        acfg.sipConfig.proxies.append(sip.outbound_proxy)
    return acfg

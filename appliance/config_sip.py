"""The `[sip]` settings (the edge, the workers, TLS, registrations) and their rules."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

import msgspec

from appliance.config_types import Count, Port, Positive, Seconds
from appliance.errors import ConfigError

Transport = Literal["udp", "tcp"]
SrtpMode = Literal["off", "optional", "mandatory"]
SessionTimerMode = Literal["off", "optional", "required", "always"]  # RFC 4028 use


class SipTls(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """SIP over TLS (1.2+) on the Kamailio edge; off while cert_file is empty."""

    cert_file: str = ""  # PEM certificate (chain) the edge presents to the PBX
    key_file: str = ""  # PEM private key of that certificate (not readable by others)
    port: Port = 5061  # TLS listening port on sip.host
    ca_file: str = ""  # PEM CAs of the PBX's certificate ("": the system's); when set, the
    # PBX must also present one when it connects
    verify: bool = True  # verify the PBX's certificate; false: lab only (sip-tls-unverified)


MIN_SE_FLOOR_S = 90  # RFC 4028: Min-SE is never below 90 s


class SipRegistration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """[[sip.registrations]]: an account the edge registers to a registrar (digest auth).

    The password is never in this file: systemd credential `sip-<name>.password`, else
    `password_file` (owner-only). See appliance/edge/registration.py.
    """

    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{0,31}$")]  # short id: health
    # component and metric label
    registrar: str  # registrar address "host[:port]" (the PBX or trunk)
    user: str  # user part of the address of record (AOR) that is registered
    domain: str = ""  # AOR domain ("": the registrar's host[:port])
    auth_user: str = ""  # digest user name ("": user)
    password_file: str = ""  # owner-only file with the digest password (one line)
    realm: str = ""  # digest realm ("": whatever the registrar challenges with)
    expires: Annotated[int, msgspec.Meta(ge=5, le=86400)] = 600  # s asked for in each
    # REGISTER; refreshed before it runs out


class Sip(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: str
    port: Port
    transports: Annotated[list[Transport], msgspec.Meta(min_length=1)]
    rtp_port: Port
    rtp_port_range: Positive
    codecs: list[str]
    max_calls: Positive
    workers: Positive  # agent processes behind the edge (pjsua2 holds 4 calls each)
    worker_port: Port  # first worker's SIP port on 127.0.0.1
    full_reply: Literal[486, 503] = 486  # SIP status when every worker is full
    retry_after_s: Count = 30  # Retry-After (s) sent with a 503
    drain_s: Seconds = 30.0  # s that calls may go on after SIGTERM before they are ended
    allowed_sources: list[str] = []  # addresses/CIDRs allowed to send requests ([]: any)
    acl_reply: Literal[0, 403] = 403  # SIP status for other sources (0: drop, no answer)
    max_call_s: Seconds = 3600.0  # s after answer when a call is ended with a BYE (0: no limit)
    flood_limit: Count = 40  # requests per 2 s from one source outside allowed_sources (0: off)
    flood_limit_trusted: Count = 400  # ... from one in allowed_sources (edge/policy.py)
    invite_rate: Positive = 20  # new calls per s the edge hands to the workers, all sources
    # together; more get full_reply (protects pjsua2, which aborts when flooded)
    tls: SipTls = msgspec.field(default_factory=SipTls)  # [sip.tls]: TLS on the edge
    srtp: SrtpMode = "off"  # SDES-SRTP on the media
    outbound_proxy: str = ""  # set by the appliance for agent workers behind the edge: their
    # own calls (consultation calls of an attended transfer) go out through it ("": direct)
    ring_s: Seconds = 0.3  # s of 180 Ringing before a worker answers (0: answer at once)
    registrations: list[SipRegistration] = []  # [[sip.registrations]]: accounts to register
    registration_retry_s: float = 5.0  # s before the first retry of a failed registration
    registration_retry_max_s: float = 300.0  # retries back off (x2 each) up to this
    session_timer: SessionTimerMode = "optional"  # RFC 4028 session timers
    session_expires_s: int = 1800  # s: Session-Expires we offer and accept
    min_se_s: Annotated[int, msgspec.Meta(ge=MIN_SE_FLOOR_S)] = 90  # s: smallest
    # Session-Expires accepted (422 + Min-SE below it); RFC 4028: >= 90


def validate_sip(sip: Sip) -> None:
    """What the types cannot say about `[sip]`: rules between fields, addresses."""
    _validate_edge(sip)
    _validate_tls(sip)
    _validate_registrations(sip)
    if sip.session_expires_s < sip.min_se_s:
        raise ConfigError("config-invalid", "sip.session_expires_s must be >= sip.min_se_s")


def _validate_tls(sip: Sip) -> None:
    """Shape only; the edge checks the certificate and key files when it starts."""
    tls = sip.tls
    if tls.cert_file and tls.port == sip.port:
        raise ConfigError("config-invalid", f"sip.tls.port must be a free port: {tls.port}")
    if bool(tls.cert_file) != bool(tls.key_file):
        raise ConfigError("config-invalid", "sip.tls needs both cert_file and key_file")
    if sip.srtp != "off" and not tls.cert_file:  # SDES keys travel in the SDP
        raise ConfigError("sip-srtp-needs-tls", "sip.srtp needs [sip.tls] (keys only over TLS)")


def _validate_registrations(sip: Sip) -> None:
    names = [r.name for r in sip.registrations]
    if len(set(names)) != len(names):
        raise ConfigError("config-invalid", "sip.registrations: names must be unique")
    for reg in sip.registrations:
        if not reg.registrar or not reg.user or reg.registrar.startswith("sip"):
            raise ConfigError(
                "config-invalid",
                f"sip.registrations.{reg.name}: registrar (host[:port], no sip:) and user needed",
            )
    if not 0 < sip.registration_retry_s <= sip.registration_retry_max_s:
        raise ConfigError(
            "config-invalid",
            "sip.registration_retry_s must be > 0 and <= sip.registration_retry_max_s",
        )


def _validate_edge(sip: Sip) -> None:
    for source in sip.allowed_sources:
        try:
            ipaddress.ip_network(source, strict=False)
        except ValueError:
            raise ConfigError(
                "config-invalid", f"sip.allowed_sources: not an address or CIDR: {source!r}"
            ) from None

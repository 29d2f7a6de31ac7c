"""SIP over TLS on the Kamailio edge: checking the certificate files, and the Kamailio
settings for them.

pjsua2's own TLS is built on the wheel's end-of-life OpenSSL 1.0.2, so TLS terminates
at Kamailio (Debian's system OpenSSL, package kamailio-tls-modules): TLS 1.2 or newer
towards the PBX, plain SIP on loopback to the agent workers. Off while
`[sip.tls] cert_file` is empty; plain UDP/TCP stay available either way.
"""

from __future__ import annotations

import logging
import ssl
import stat
from pathlib import Path

from appliance.config import Sip, SipTls
from appliance.errors import ConfigError

logger = logging.getLogger(__name__)

TLS_METHOD = "TLSv1.2+"  # Kamailio: TLS 1.2 and every newer version, nothing older
SYSTEM_CAS = Path("/etc/ssl/certs/ca-certificates.crt")  # Debian's ca-certificates
UNVERIFIED = "sip-tls-unverified"


def tls_enabled(sip: Sip) -> bool:
    return bool(sip.tls.cert_file)


def _readable(setting: str, value: str) -> Path:
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise ConfigError("sip-tls-file-missing", f"sip.tls.{setting}: no such file: {path}")
    try:
        path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            "sip-tls-file-unreadable", f"sip.tls.{setting}: cannot read {path}: {exc.strerror}"
        ) from None
    return path


def check_tls_files(tls: SipTls) -> tuple[Path, Path, Path | None]:
    """Resolve and check the certificate, key and CA files; return (cert, key, ca).

    Raises ConfigError with a code when a file is missing or unreadable, the key is
    readable by every user, the certificate and key are not a valid matching pair, or no
    CA can verify the PBX (no ca_file and no system CAs while `verify` is on).
    The messages carry paths and OpenSSL's reason, never key material.
    """
    cert = _readable("cert_file", tls.cert_file)
    key = _readable("key_file", tls.key_file)
    if key.stat().st_mode & stat.S_IROTH:
        raise ConfigError(
            "sip-tls-key-permissions", f"sip.tls.key_file is readable by every user: {key}"
        )
    ca = _trusted_cas(tls)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ConfigError(
            "sip-tls-cert-invalid",
            f"sip.tls: certificate {cert} and key {key} are not a valid pair ({exc.reason})",
        ) from None
    if ca is not None:
        try:
            context.load_verify_locations(cafile=ca)
        except ssl.SSLError as exc:
            raise ConfigError(
                "sip-tls-ca-invalid", f"sip.tls.ca_file {ca}: no usable CA ({exc.reason})"
            ) from None
    return cert, key, ca


def _trusted_cas(tls: SipTls) -> Path | None:
    """The CAs that verify the PBX's certificate: ca_file, else the system's (None when
    verification is turned off)."""
    if tls.ca_file:
        return _readable("ca_file", tls.ca_file)
    if not tls.verify:
        return None
    if not SYSTEM_CAS.is_file():
        raise ConfigError(
            "sip-tls-ca-missing",
            f"sip.tls: no ca_file and no system CAs in {SYSTEM_CAS} to verify the PBX with",
        )
    return SYSTEM_CAS


def warn_if_unverified(tls: SipTls) -> None:
    """Say at every start, as a warning with its code, that the PBX is not verified."""
    if tls.cert_file and not tls.verify:
        logger.warning(
            "sip tls: the PBX's certificate is NOT verified ([sip.tls] verify = false): "
            "lab only, anyone on the path can pose as the PBX",
            extra={"stage": "edge", "code": UNVERIFIED},
        )


def tls_listen(sip: Sip) -> str:
    """Core settings for the config's global section ("" while TLS is off)."""
    if not tls_enabled(sip):
        return ""
    return f"enable_tls=yes\nlisten=tls:{sip.host}:{sip.tls.port}\n"


def tls_module(sip: Sip) -> str:
    """The tls module and its parameters ("" while TLS is off).

    The PBX's certificate is verified against `ca_file`, else the system's CAs, when the
    edge connects to it and when the PBX presents one; with a `ca_file` the PBX must also
    present one when it connects. `verify = false` (a lab) turns both off.
    """
    if not tls_enabled(sip):
        return ""
    cert, key, ca = check_tls_files(sip.tls)
    verify = 1 if sip.tls.verify else 0
    require = 1 if sip.tls.verify and sip.tls.ca_file else 0
    lines = [
        'loadmodule "tls.so"',
        f'modparam("tls", "tls_method", "{TLS_METHOD}")',
        f'modparam("tls", "certificate", "{cert}")',
        f'modparam("tls", "private_key", "{key}")',
        f'modparam("tls", "verify_certificate", {verify})',
        f'modparam("tls", "require_certificate", {require})',
    ]
    if ca is not None:
        lines.append(f'modparam("tls", "ca_list", "{ca}")')
    return "\n".join(lines) + "\n"

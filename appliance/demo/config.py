"""What the [demo] settings change (appliance/config.py `Demo`): where the demo clinic's
files are, which knowledge base and front desk the appliance uses, and the demo desk's
addresses. Nothing here starts anything (the desk: desk.py; the seeding: seed.py)."""

from __future__ import annotations

from pathlib import Path

from appliance.config import Settings

CLINIC_DIR = Path(__file__).resolve().parent / "clinic"  # the synthetic demo clinic's files
DESK_HOST = "127.0.0.1"  # the demo desk listens on loopback only
DESK_USER = "frontdesk"
DESK_RTP_PORTS = 20  # RTP ports of the demo desk (4 calls), just above the workers' range


def kb_path(settings: Settings) -> Path | None:
    """The knowledge base file: [workflows] kb_file; else the demo clinic's when
    [demo] clinic is on; else None (a KB built from [clinic] hours and facts)."""
    if settings.workflows.kb_file:
        return settings.path(settings.workflows.kb_file)
    if settings.demo.clinic:
        return CLINIC_DIR / "kb.toml"
    return None


def front_desk_uri(settings: Settings) -> str:
    """Where transfers go: [workflows] front_desk_uri; else the demo desk when [demo]
    front_desk is on (`appliance run` starts it); else "" (no transfers)."""
    if settings.workflows.front_desk_uri:
        return settings.workflows.front_desk_uri
    return desk_uri(settings) if settings.demo.front_desk else ""


def desk_uri(settings: Settings) -> str:
    """The demo desk's own SIP URI."""
    return f"sip:{DESK_USER}@{DESK_HOST}:{settings.demo.front_desk_port}"


def screenpop_url(settings: Settings) -> str:
    """Where a person sees the handoff packets (the admin app's screen-pop)."""
    admin = settings.admin
    wildcard = admin.host in ("", "0.0.0.0", "::")  # noqa: S104 (a comparison, not a bind)
    host = "127.0.0.1" if wildcard else admin.host
    scheme = "https" if admin.tls_cert_file else "http"
    return f"{scheme}://{host}:{admin.port}/screenpop/"


def desk_rtp_port(settings: Settings) -> int:
    """The first RTP port of the demo desk: above the agent workers' range (below it
    when that would pass 65535)."""
    sip = settings.sip
    above = sip.rtp_port + sip.rtp_port_range
    return above if above + DESK_RTP_PORTS <= 65536 else max(1024, sip.rtp_port - DESK_RTP_PORTS)

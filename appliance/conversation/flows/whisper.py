"""The whisper: one sentence the front desk hears on an attended transfer, before the
caller is bridged ("Transferring a caller who wants to reschedule an appointment;
identity verified; they asked for a person.").

PHI-light by construction: the sentence is assembled only from vetted phrases chosen by
codes (the intent, the escalation reason, whether the caller's identity was verified).
Nothing the caller said, and no name, date of birth, phone number or appointment time
from the handoff packet is ever put into it; an unknown code gets a generic phrase, never
the code itself. The details are on the screen-pop (the stored packet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPENING = "Transferring a caller"

# intent code -> what the caller wants (follows "Transferring a caller")
INTENTS: dict[str, str] = {
    "book": " who wants to book an appointment",
    "reschedule": " who wants to reschedule an appointment",
    "cancel": " who wants to cancel an appointment",
    "appointment_status": " asking about an upcoming appointment",
    "clinic_info": " with a question about the clinic",
    "refill": " asking for a prescription refill",
    "billing": " with a billing question",
    "test_results": " asking about test results",
    "emergency": " who may have an emergency",
}

# escalation reason code -> why the agent hands the caller over
REASONS: dict[str, str] = {
    "caller-request": "they asked for a person",
    "consent-declined": "they declined the automated assistant",
    "high-risk-use-case": "this request is handled by staff",
    "use-case-disabled": "the assistant does not handle this request",
    "agent-killed": "the assistant is switched off: every call comes to the desk",
    "identity-failed": "their identity could not be confirmed",
    "not-understood": "the assistant could not understand them",
    "low-confidence": "the assistant was unsure what they need",
    "out-of-scope": "the request is outside what the assistant handles",
    "billing-payment": "they want to make a payment",
    "emergency": "they may have an emergency",
}
OTHER_REASON = "the assistant handed them over"

VERIFIED = "identity verified"
NOT_VERIFIED = "identity not verified"


def whisper_text(reason: str, intent: str | None = None, identified: bool | None = None) -> str:
    """The sentence for these codes; `identified` None (unknown) leaves identity out."""
    parts = [OPENING + INTENTS.get(intent or "", "")]
    if identified is not None and reason != "identity-failed":
        parts.append(VERIFIED if identified else NOT_VERIFIED)
    parts.append(REASONS.get(reason, OTHER_REASON))
    return "; ".join(parts) + "."


def packet_whisper(packet: Mapping[str, Any] | None, reason: str) -> str:
    """The sentence for a handoff packet (appliance/workflows/handoff.py), reading only its
    codes: `reason`, `intent` and `caller.identified`; without a packet, `reason` alone."""
    if not packet:
        return whisper_text(reason)
    caller = packet.get("caller")
    identified = caller.get("identified") if isinstance(caller, Mapping) else None
    intent = packet.get("intent")
    return whisper_text(
        str(packet.get("reason") or reason),
        intent if isinstance(intent, str) else None,
        identified if isinstance(identified, bool) else None,
    )

"""Consent and disclosure: the AI disclosure's timing and callers who decline AI handling.

The disclosure is the start of the greeting, which is protected (caller speech never
cuts it); its offset from the answer is audited. A caller who declines AI handling ("I
don't want to talk to a robot") is transferred to the front desk, audited with the
reason "consent-declined". (The workflow actions the agent plane reports are audited call
events too: appliance/conversation/dialogue.py.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from appliance.config import Consent

_AGENT = r"(a |an |the |this )?(robot|machine|computer|bot|ai|a\.i\.|artificial intelligence)"
DECLINE_PATTERNS = (
    rf"\b(don'?t|do not|doesn'?t|won'?t|will not|never) (want|wanna|like|wish)( to)? "
    rf"(talk|speak|deal)( to| with)? {_AGENT}",
    rf"\bno {_AGENT}s?\b",
    rf"\bnot (talking|speaking) (to|with) {_AGENT}",
    rf"\bi (hate|refuse) {_AGENT}",
    r"\bi (do not|don'?t) consent\b",
)
DECLINED = "consent-declined"  # escalation reason and audit reason code
# the vetted sentence of the disclosure while [quality] audio_sample is on
QUALITY_RECORDING = "This call may be recorded for quality."


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """The session's view of the [consent] settings (the struct itself)."""

    settings: Consent = field(default_factory=Consent)

    def declines_ai(self, text: str) -> bool:
        """True when the caller declines being handled by an AI (and that is acted on)."""
        if not self.settings.decline_to_human:
            return False
        said = " ".join(re.findall(r"[a-z.']+", text.lower()))
        if any(re.search(p, said) for p in DECLINE_PATTERNS):
            return True
        extra = (p.lower() for p in self.settings.decline_phrases)
        return any(re.search(rf"\b{re.escape(p)}\b", said) for p in extra)


def offset_code(seconds: float) -> str:
    """Reason code of the disclosure event: its offset from the answer, in ms."""
    return f"offset-ms:{max(0, round(seconds * 1000))}"

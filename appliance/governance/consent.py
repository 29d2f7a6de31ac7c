"""Consent and disclosure: the AI disclosure's timing and callers who decline AI handling.

The disclosure is the start of the greeting, which is protected (caller speech never
cuts it); its offset from the answer is audited. A caller who declines AI handling ("I
don't want to talk to a robot") is transferred to the front desk, audited with the
reason "consent-declined". (The workflow actions the agent plane reports are audited call
events too: appliance/conversation/dialogue.py.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """The [consent] settings the session needs."""

    recording: str = "off"  # "off" | "announce" | "opt-in": the appliance keeps no audio
    decline_to_human: bool = True
    extra_phrases: tuple[str, ...] = ()  # lower-case phrases that also decline

    def declines_ai(self, text: str) -> bool:
        """True when the caller declines being handled by an AI (and that is acted on)."""
        if not self.decline_to_human:
            return False
        said = " ".join(re.findall(r"[a-z.']+", text.lower()))
        if any(re.search(p, said) for p in DECLINE_PATTERNS):
            return True
        return any(re.search(rf"\b{re.escape(p)}\b", said) for p in self.extra_phrases)


def consent_policy(cfg: Consent) -> ConsentPolicy:
    return ConsentPolicy(
        recording=cfg.recording,
        decline_to_human=cfg.decline_to_human,
        extra_phrases=tuple(p.lower() for p in cfg.decline_phrases),
    )


def offset_code(seconds: float) -> str:
    """Reason code of the disclosure event: its offset from the answer, in ms."""
    return f"offset-ms:{max(0, round(seconds * 1000))}"

"""Consent and disclosure: the AI disclosure's timing, callers who decline AI handling,
and the audit trail of what the agent plane did in a call (metadata only, no PHI).

The disclosure is the start of the greeting, which is protected (caller speech never
cuts it); its offset from the answer is audited. A caller who declines AI handling ("I
don't want to talk to a robot") is transferred to the front desk, audited with the
reason "consent-declined". Workflow actions (identity verification, book, cancel, ...)
become call events and audit records with their outcome code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from appliance.config import Consent
from appliance.ports import CallRecorder

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


@runtime_checkable
class ReportsActions(Protocol):
    """An agent (the workflow engine) that reports what it did, as (action, outcome) codes."""

    def take_actions(self) -> Sequence[tuple[str, str]]:
        """Actions since the last call, e.g. ("identify", "no-match"), ("book", "ok")."""
        ...


async def audit_actions(agent: object, recorder: CallRecorder, call_id: str, at: float) -> int:
    """Record the agent's new actions as call events (audited); the number recorded."""
    if not isinstance(agent, ReportsActions):
        return 0
    actions = agent.take_actions()
    for action, outcome in actions:
        await recorder.add_event(call_id, f"workflow-{action}", "workflow", outcome, at)
    return len(actions)

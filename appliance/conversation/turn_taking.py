"""Turn-taking policy: when caller speech interrupts the agent, and when silence is too long.

Pure decisions, fed frame by frame by the session; no I/O and no clock of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.config import Conversation

BACKCHANNELS = frozenset(
    {
        "mm", "mhm", "mm-hm", "mmhm", "hm", "hmm", "uh-huh", "uhhuh", "uh", "um", "ah", "oh",
        "yeah", "yes", "yep", "ok", "okay", "right", "sure", "alright", "i see",
    }
)  # fmt: skip
_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)*")


def is_backchannel(text: str, max_words: int) -> bool:
    """True for a short acknowledgement ("mm-hm", "okay, yeah") that asks for no reply."""
    words = _WORD.findall(text.lower())
    if not words or len(words) > max_words:
        return False
    return all(w in BACKCHANNELS for w in words) or " ".join(words) in BACKCHANNELS


@dataclass(slots=True)
class BargeInTracker:
    """Follows the caller's speech frame by frame while the agent may be talking.

    `update` returns True once per utterance, at the frame where the caller has spoken
    (voiced frames, not the silence the VAD waits through before ending the turn) for
    `barge_in_min_speech_s` over interruptible agent audio.
    """

    policy: Conversation  # the [conversation] settings
    voiced_s: float = 0.0  # s of voiced frames since the VAD reported speech
    fired: bool = False

    def update(
        self, speech_active: bool, voiced: bool, frame_s: float, interruptible_audio: bool
    ) -> bool:
        if not speech_active:
            self.voiced_s = 0.0
            return False
        if voiced:
            self.voiced_s += frame_s
        if self.fired or not (self.policy.barge_in and interruptible_audio and voiced):
            return False
        if self.voiced_s >= self.policy.barge_in_min_speech_s - 1e-9:
            self.fired = True
            return True
        return False

    def end_of_utterance(self) -> bool:
        """The caller's utterance ended; returns whether it had interrupted the agent."""
        fired, self.fired, self.voiced_s = self.fired, False, 0.0
        return fired

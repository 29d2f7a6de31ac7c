"""Turn-taking policy: when caller speech interrupts the agent, and when silence is too long.

Pure decisions, fed frame by frame by the session; no I/O and no clock of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BACKCHANNELS = frozenset(
    {
        "mm", "mhm", "mm-hm", "mmhm", "hm", "hmm", "uh-huh", "uhhuh", "uh", "um", "ah", "oh",
        "yeah", "yes", "yep", "ok", "okay", "right", "sure", "alright", "i see",
    }
)  # fmt: skip
_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)*")


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    """Timing rules of one call (from `[conversation]` in the settings)."""

    barge_in: bool = True  # caller speech may cut interruptible agent audio
    barge_in_min_speech_s: float = 0.0  # s of voiced speech beyond the VAD's start decision
    barge_in_pause_s: float = 0.0  # s of voiced frames that pause the audio (0: no fast pause)
    barge_in_resume_s: float = 0.2  # s without voice that end an unconfirmed burst: resume
    early_end: bool = True  # end a turn at its first pause when the transcript is complete
    voiced_threshold: float = 0.5  # VAD probability of a voiced frame (the VAD's threshold)
    backchannel_max_words: int = 2  # a barge-in of at most this many backchannel words is ignored
    filler_after_s: float = 1.2  # s after the caller stopped speaking, no reply audio: filler
    filler_every_s: float = 1.5  # s of silence after a filler before it is repeated (0: once)
    reprompt_after_s: float = 8.0  # s of caller silence before a re-prompt
    max_reprompts: int = 2  # re-prompts before the call is closed politely


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

    policy: TurnPolicy
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

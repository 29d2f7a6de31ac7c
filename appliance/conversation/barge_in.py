"""Barge-in in two steps: a fast pause on the first voiced frames, then stop or resume.

The end-of-turn VAD confirms speech only after `[vad] min_speech_ms` (200 ms) of voiced
windows, on top of the model's own rise: too slow for the caller to hear the agent stop
within 200 ms. So interruptible agent audio is *paused* as soon as `barge_in_pause_s` of
voiced frames arrived. Then either
- the VAD confirms speech and `BargeInTracker` fires: the pause becomes a stop (the reply
  is cancelled and the caller's utterance answered), or
- the burst ends unconfirmed (noise, a cough), or the utterance ends without having
  barged in (too short for `barge_in_min_speech_s`): the paused audio resumes.
With the fast pause on, a confirmed barge-in keeps the reply paused until its words are
known (`judge`): a backchannel ("mm-hm, okay") or no words resume it; anything else
stops it, and the transcript serves the new turn (no second transcription).

Pure decisions, fed frame by frame by the session; no I/O and no clock of its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from appliance.config import Conversation
from appliance.conversation.timing import within
from appliance.conversation.turn_taking import BargeInTracker, is_backchannel
from appliance.domain import Transcript, Utterance
from appliance.errors import SpeechToTextError
from appliance.ports import Clock, SpeechToText


class Action(enum.Enum):
    NONE = "none"
    PAUSE = "pause"  # stop the audio now, keep what was not heard
    RESUME = "resume"  # it was not a barge-in: play the rest
    STOP = "stop"  # a barge-in: drop the audio and cancel the reply


@dataclass(slots=True)
class BargeInRule:
    """Follows the caller frame by frame; `update` says what to do with the agent's audio."""

    policy: Conversation  # the [conversation] settings
    confirm: BargeInTracker = field(init=False)
    voiced_s: float = 0.0  # s of voiced frames in the current burst
    quiet_s: float = 0.0  # s of unvoiced frames since the last voiced one
    paused: bool = False
    confirmed: bool = False  # the VAD confirmed a barge-in: nothing more until the utterance

    def __post_init__(self) -> None:
        self.confirm = BargeInTracker(self.policy)

    def update(self, speech_active: bool, voiced: bool, frame_s: float, can_cut: bool) -> Action:
        """One caller frame. `can_cut`: interruptible agent audio is playing (or paused)."""
        p = self.policy
        if voiced:
            self.voiced_s += frame_s
            self.quiet_s = 0.0
        else:
            self.quiet_s += frame_s
        if self.confirmed:
            return Action.NONE
        if self.confirm.update(speech_active, voiced, frame_s, can_cut or self.paused):
            self.paused, self.confirmed = False, True
            return Action.STOP
        burst_over = not speech_active and self.quiet_s >= p.barge_in_resume_s - 1e-9
        if burst_over:
            self.voiced_s = 0.0
        if self.paused:
            if burst_over:
                self.paused = False
                return Action.RESUME
            return Action.NONE
        fast = p.barge_in and p.barge_in_pause_s > 0
        if fast and can_cut and voiced and self.voiced_s >= p.barge_in_pause_s - 1e-9:
            self.paused = True
            return Action.PAUSE
        return Action.NONE

    def end_of_utterance(self) -> tuple[bool, bool]:
        """The VAD ended an utterance: (whether it barged in, whether to resume the audio)."""
        barged = self.confirm.end_of_utterance()
        resume = self.paused and not barged
        self.paused = self.confirmed = False
        self.voiced_s = self.quiet_s = 0.0
        return barged, resume


async def judge(
    stt: SpeechToText,
    utterance: Utterance,
    clock: Clock,
    timeout_s: float,
    policy: Conversation,
    no_speech_threshold: float,
) -> tuple[Transcript, bool]:
    """Transcribe an utterance that barged into a paused reply; True: resume the reply."""
    late = SpeechToTextError("stt-timeout", "transcription took too long")
    transcript = await within(clock, timeout_s, stt.transcribe(utterance), late)
    text = transcript.text.strip()
    nothing = not text or transcript.no_speech_prob > no_speech_threshold
    return transcript, nothing or is_backchannel(text, policy.backchannel_max_words)

"""Typed data that crosses the planes. Units are in the field comments."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import NewType

from appliance.audio import AudioChunk

CallId = NewType("CallId", str)


def new_call_id() -> CallId:
    return CallId(uuid.uuid4().hex)


class Speaker(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"


class CallState(enum.StrEnum):
    GREET = "greet"
    LISTEN = "listen"
    THINK = "think"
    SPEAK = "speak"
    END = "end"


@dataclass(frozen=True, slots=True)
class Utterance:
    """One caller turn as detected by the VAD."""

    audio: AudioChunk  # PIPELINE_RATE PCM
    speech_start: float  # s, monotonic
    speech_end: float  # s, monotonic: last voiced frame
    detected_at: float  # s, monotonic: when end of turn was decided
    ended_early: bool = False  # at its first pause, its transcript complete (semantic end)


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str  # PHI: never log
    language: str
    avg_logprob: float
    no_speech_prob: float
    duration: float  # s of audio


@dataclass(slots=True)
class TurnTimings:
    """Stage timings of one turn, in seconds relative to the end of caller speech."""

    end_of_turn: float | None = None
    stt_done: float | None = None
    llm_first_token: float | None = None
    first_sentence: float | None = None
    tts_first_audio: float | None = None
    first_audio_out: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "end_of_turn": self.end_of_turn,
            "stt_done": self.stt_done,
            "llm_first_token": self.llm_first_token,
            "first_sentence": self.first_sentence,
            "tts_first_audio": self.tts_first_audio,
            "first_audio_out": self.first_audio_out,
        }


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str  # PHI: never log


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Metadata-only record of what happened in a call (safe to log)."""

    call_id: CallId
    kind: str  # e.g. "answered", "greeting-played", "turn", "stage-failed", "hangup"
    at: float  # s, wall clock (UNIX time)
    stage: str | None = None
    code: str | None = None
    timings: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Directive:
    """What the agent plane asks the session to do after speaking a reply."""

    end_call: bool = False
    transfer_reason: str | None = None  # escalation reason code: hand the caller to a human
    payment: bool = False  # enter the PCI pause (appliance/governance/pci.py)

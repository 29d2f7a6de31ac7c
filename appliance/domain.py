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


class WorkflowAction(enum.StrEnum):
    """What the clinic workflows did in a call (audited with an outcome code)."""

    IDENTIFY = "identify"
    FIND_SLOTS = "find-slots"
    BOOK = "book"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    PAYMENT = "payment"
    TRANSFER = "transfer"
    OFFER_MESSAGE = "offer-message"
    TAKE_MESSAGE = "take-message"
    EMERGENCY = "emergency"  # the emergency instruction was given (the call ends)


class EventKind(enum.StrEnum):
    """Every kind of call event: the one vocabulary of the call's event stream.

    Persisted as is (call_events.kind; audit action `call.<kind>` for the `AUDITED` ones).
    """

    ANSWERED = "answered"  # the session took the call
    GREETED = "greeted"  # the greeting's first audio left (timings: first_audio_out)
    DISCLOSURE_PLAYED = "disclosure-played"  # the AI disclosure; code: its offset in ms
    HEARD = "heard"  # a caller turn was transcribed (timings of the turn so far)
    NOT_HEARD = "not-heard"  # a turn without words: the caller is asked again
    SPEECH_IGNORED = "speech-ignored"  # code: backchannel | protected-audio
    REPLIED = "replied"  # the reply was spoken to the end (timings of the turn)
    FILLER = "filler"  # the "One moment." filler began
    REPROMPT = "reprompt"  # the caller was silent: asked again
    CLOSED_SILENT = "closed-silent"  # silent after the re-prompts: the call is closed
    ASKED_AGAIN = "asked-again"  # the workflow did not understand and asked again (code:
    # which re-ask: not-understood | yes-or-no | identity; never the caller's words)
    GOODBYE = "goodbye"  # the caller said goodbye: the agent says it too and hangs up
    BARGE_IN = "barge-in"  # caller speech stopped the agent's audio and its reply
    BARGE_IN_PAUSED = "barge-in-paused"  # ... paused it, until the words are known
    BARGE_IN_RESUMED = "barge-in-resumed"  # ... and it was not a barge-in: resumed
    CONSENT_DECLINED = "consent-declined"  # the caller declined AI handling
    TRANSFER_REQUESTED = "transfer-requested"  # code: the escalation reason
    TRANSFER_OK = "transfer-ok"  # a human answered (code: the transfer's reason)
    TRANSFER_FAILED = "transfer-failed"  # ... did not (code: busy, timeout, ...)
    WHISPER_PLAYED = "whisper-played"  # attended: the desk heard the whole whisper
    WHISPER_CUT = "whisper-cut"  # ... part of it
    WHISPER_SKIPPED = "whisper-skipped"  # ... none (TTS failed or was slow)
    PCI_PAUSE_START = "pci-pause-start"  # code: the PCI mode
    PCI_PAUSE_END = "pci-pause-end"  # code: outcome:N-digits
    INTENT = "intent"  # code: the caller's request the agent understood (a fixed code)
    WORKFLOW_IDENTIFY = "workflow-identify"  # code: the action's outcome
    WORKFLOW_FIND_SLOTS = "workflow-find-slots"
    WORKFLOW_BOOK = "workflow-book"
    WORKFLOW_RESCHEDULE = "workflow-reschedule"
    WORKFLOW_CANCEL = "workflow-cancel"
    WORKFLOW_PAYMENT = "workflow-payment"
    WORKFLOW_TRANSFER = "workflow-transfer"
    WORKFLOW_OFFER_MESSAGE = "workflow-offer-message"
    WORKFLOW_TAKE_MESSAGE = "workflow-take-message"
    WORKFLOW_EMERGENCY = "workflow-emergency"
    APPOINTMENT = "appointment"  # code: <action>:<appointment id> it booked/moved/cancelled
    STAGE_FAILED = "stage-failed"  # stage and code of the failure; the apology follows
    ENDED = "ended"  # code: the outcome

    @classmethod
    def of_action(cls, action: WorkflowAction) -> EventKind:
        return cls(f"workflow-{action.value}")


# compliance evidence: these also go to the tamper-evident audit log
AUDITED = frozenset(
    {
        EventKind.DISCLOSURE_PLAYED,
        EventKind.CONSENT_DECLINED,
        EventKind.TRANSFER_REQUESTED,
        EventKind.TRANSFER_OK,
        EventKind.TRANSFER_FAILED,
        EventKind.WHISPER_PLAYED,
        EventKind.WHISPER_CUT,
        EventKind.WHISPER_SKIPPED,
        EventKind.PCI_PAUSE_START,
        EventKind.PCI_PAUSE_END,
        EventKind.STAGE_FAILED,
        *(EventKind.of_action(action) for action in WorkflowAction),
    }
)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One caller turn as detected by the VAD."""

    audio: AudioChunk  # PIPELINE_RATE PCM
    speech_start: float  # s, monotonic
    speech_end: float  # s, monotonic: last voiced frame
    detected_at: float  # s, monotonic: when end of turn was decided
    ended_early: bool = False  # at its first pause, its transcript complete (semantic end)


# the caller turn's timings key (turns.timings) of Transcript.low_words: a count only
LOW_WORDS = "stt_low_words"


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str  # PHI: never log
    language: str
    avg_logprob: float
    no_speech_prob: float
    duration: float  # s of audio
    low_words: int | None = None  # words below [stt] low_word_probability (None: not counted)


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
    kind: EventKind
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

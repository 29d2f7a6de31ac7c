"""The seams. Real adapters implement these; unit tests use fakes from tests/fakes."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.audio import AudioChunk
from appliance.domain import (
    CallId,
    ChatMessage,
    Directive,
    SessionEvent,
    Transcript,
    Utterance,
    WorkflowAction,
)


class Clock(Protocol):
    def monotonic(self) -> float: ...  # s
    def time(self) -> float: ...  # s since the epoch
    async def sleep(self, seconds: float) -> None: ...


DTMF_DIGITS = frozenset("0123456789*#ABCD")


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """One key the caller pressed. Digits may be card numbers (PCI): never log them."""

    digit: str  # one of DTMF_DIGITS
    duration_ms: int  # ms the key was held, as the sender reported it (0: unknown)
    method: str  # "rfc4733" (RTP telephone-event) | "sip-info"
    at: float  # monotonic s when it arrived


class TransferOutcome(Protocol):
    @property
    def ok(self) -> bool: ...  # the target answered

    @property
    def reason(self) -> str: ...  # "answered" | "failed" | "refused" | "timeout" | ...


# the whisper's audio, or (so that it is synthesized while the desk rings) its future
Whisper = Sequence[AudioChunk] | Awaitable[Sequence[AudioChunk]]
WhisperedCallback = Callable[[bool], None]  # told whether the whisper went out in full


class CallHandle(Protocol):
    """One live call as the agent plane sees it: 20 ms frames in, audio out, keypad
    digits in, and the call control a session needs (hang up, transfer)."""

    @property
    def call_id(self) -> CallId: ...

    @property
    def rate(self) -> int: ...  # Hz of frames() and play()

    @property
    def codec(self) -> str: ...  # negotiated codec name, e.g. "G722"

    @property
    def remote(self) -> str: ...  # the caller's From URI user part ("": unknown); PHI

    def frames(self) -> AsyncIterator[AudioChunk]:
        """Caller audio, one 20 ms chunk at a time; ends when the call ends."""
        ...

    def dtmf(self) -> AsyncIterator[DtmfDigit]:
        """Keypad digits as they arrive; ends when the call ends."""
        ...

    async def play(self, chunk: AudioChunk) -> None:
        """Queue audio for the caller (any length, at `rate`)."""
        ...

    async def drain(self) -> float | None:
        """Wait until queued audio has been sent; return when its first frame left (monotonic)."""
        ...

    def stop_playback(self) -> None: ...

    async def hangup(self) -> None: ...

    async def transfer(
        self, uri: str, headers: dict[str, str] | None = None, within: float = 20.0
    ) -> TransferOutcome:
        """Hand the caller to `uri` (blind transfer, REFER); the outcome once it is known."""
        ...

    async def attended_transfer(
        self,
        uri: str,
        headers: dict[str, str] | None = None,
        ring_s: float = 20.0,
        within: float = 20.0,
        whisper: Whisper | None = None,
        whispered: WhisperedCallback | None = None,
    ) -> TransferOutcome:
        """Consult `uri` first: a consultation call carrying the X-headers, an optional
        whisper to whoever answers it, then REFER with Replaces; `whispered(complete)` is
        told once the whisper went out (False: cut)."""
        ...


CallHandler = Callable[[CallHandle], Awaitable[None]]


class Telephony(Protocol):
    async def start(self, on_call: CallHandler) -> None: ...
    async def stop(self) -> None: ...
    def active_calls(self) -> int: ...


class EndOfTurnDetector(Protocol):
    """Feeds 20 ms frames; returns an Utterance when the caller finished a turn.

    It also says whether the caller is speaking now (for barge-in), offers the turn so far
    at a pause (speculative STT) and ends the turn at that pause on request (semantic end
    of turn); a detector without those returns None from `tentative` and `commit`.
    """

    def feed(self, chunk: AudioChunk) -> Utterance | None: ...
    def reset(self) -> None: ...

    @property
    def speech_active(self) -> bool: ...  # from the start of speech to the end of the turn

    @property
    def probability(self) -> float: ...  # speech probability of the latest audio

    def tentative(self) -> Utterance | None:
        """The turn so far, at a pause (once per pause), or None."""
        ...

    def commit(self) -> Utterance | None:
        """End the turn at its latest pause now, or None if there is no pause to end at."""
        ...


class SpeechToText(Protocol):
    async def transcribe(self, utterance: Utterance) -> Transcript: ...


class TextToSpeech(Protocol):
    @property
    def rate(self) -> int: ...  # Hz of the produced audio

    def synthesize(self, text: str) -> AsyncGenerator[AudioChunk, None]:
        """Yield audio sentence by sentence as soon as each is ready."""
        ...


class ChatModel(Protocol):
    def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """Yield reply text deltas."""
        ...

    async def ready(self) -> bool: ...


class CallRecorder(Protocol):
    """Where calls and turns go: the encrypted store (never faked in tests)."""

    async def start_call(
        self, call_id: str, started_at: float, codec: str, remote_hash: str
    ) -> None: ...

    async def add_turn(
        self,
        call_id: str,
        speaker: str,
        text: str,
        started_at: float,
        ended_at: float,
        timings: dict[str, float | None],
        stt_confidence: float | None = None,
    ) -> int: ...

    async def end_call(self, call_id: str, ended_at: float, outcome: str) -> None: ...

    async def add_event(
        self,
        call_id: str,
        kind: str,
        stage: str | None,
        code: str | None,
        at: float,
        audited: bool = True,
    ) -> None:
        """Store a call event; `audited` ones also go to the tamper-evident audit log."""
        ...


class TraceSink(Protocol):
    """Where a call's trace goes when the call has ended (spans built from its events)."""

    async def record(self, call_id: CallId, events: Sequence[SessionEvent]) -> None:
        """Keep the call's spans; never raises (a trace that cannot be kept is logged)."""
        ...


@dataclass(frozen=True, slots=True)
class TurnAudio:
    """The caller audio of one stored caller turn: the utterance that went to STT (PHI)."""

    seq: int  # the turn's seq in the store
    audio: AudioChunk  # s16le mono PCM


class AudioSink(Protocol):
    """Where the quality sample's caller audio goes: the encrypted store (never faked)."""

    async def keep_audio(self, call_id: str, reason: str, turns: Sequence[TurnAudio]) -> None:
        """Store the turns' audio of one ended call, kept for `reason` (a code)."""
        ...


class SessionObserver(Protocol):
    """Metadata-only hooks (metrics); never receives text or audio."""

    def call_started(self) -> None: ...
    def call_ended(self, outcome: str) -> None: ...
    def stage_time(self, stage: str, seconds: float) -> None: ...
    def stage_failed(self, stage: str, code: str) -> None: ...


# --- the agent plane: what the session asks of the agent, and what it gets back --------


@dataclass(frozen=True, slots=True)
class AgentTurn:
    """One caller turn for the agent plane."""

    call_id: CallId
    text: str  # what the caller said (PHI: never log)
    history: Sequence[ChatMessage]  # the conversation before it, oldest first
    caller_key: str = ""  # keyed hash of the caller's number ("": unknown); never the number


@dataclass(frozen=True, slots=True)
class AgentAction:
    """Something the agent plane did (audited as a call event with its outcome code)."""

    action: WorkflowAction
    outcome: str  # "ok" or a reason code (no PHI)
    ref: str | None = None  # the appointment id it booked/moved/cancelled (opaque)


@dataclass(slots=True)
class AgentReply:
    """One reply: its text as it streams; once `text` is exhausted, `directive` and
    `actions` and `intent` are final (the agent plane fills them in while it streams)."""

    text: AsyncIterator[str]
    directive: Directive | None = None  # end the call, transfer it, or take a payment
    actions: list[AgentAction] = field(default_factory=list)
    # the request the agent understood in this turn, a fixed code (an intent of
    # appliance.llm.understanding.Intent, never words); None: no understanding
    intent: str | None = None
    # the agent did not understand and asked again: which re-ask, a fixed code
    # (appliance.workflows.engine.REPROMPT_CODES); None: not a re-ask
    reprompt: str | None = None


@dataclass(frozen=True, slots=True)
class Handoff:
    """The conversation handed to a human: the X-headers that reference the stored
    handoff packet, and the packet itself (PHI: never log; the whisper reads its codes)."""

    headers: Mapping[str, str]
    packet: Mapping[str, Any] | None = None


class CallerOptOuts(Protocol):
    """An opt-out said on an inbound call ("stop calling me", "take me off your list"):
    the agent plane asks before it answers (appliance.outbound.inbound_optout)."""

    async def heard(self, call_id: CallId, caller_key: str, text: str) -> str | None:
        """None when the words are no opt-out; else the caller's number has been taken
        off the reminder list (consent revoked, do-not-call, audited) and this is the
        vetted sentence to say. Never raises on the words (PHI: never logged)."""
        ...


class AgentPlane(Protocol):
    """What answers the caller: the clinic workflows, or a free LLM. One per call."""

    def respond(self, turn: AgentTurn) -> AgentReply: ...

    async def hand_off(self, call_id: CallId, reason: str) -> Handoff:
        """Store the handoff packet before the desk phone rings (never raises: a packet
        that cannot be stored leaves a transfer with the basic headers)."""
        ...

    async def transfer_result(self, outcome: str) -> str | None:
        """Record the transfer's outcome; unless a human answered, what to tell the caller
        (None: the fixed no-transfer prompt)."""
        ...

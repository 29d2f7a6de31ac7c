"""The seams. Real adapters implement these; unit tests use fakes from tests/fakes."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from appliance.audio import AudioChunk
from appliance.domain import CallId, ChatMessage, Directive, Transcript, Utterance


class Clock(Protocol):
    def monotonic(self) -> float: ...  # s
    def time(self) -> float: ...  # s since the epoch
    async def sleep(self, seconds: float) -> None: ...


class CallHandle(Protocol):
    """One live call as the agent plane sees it: 20 ms frames in, audio out."""

    @property
    def call_id(self) -> CallId: ...

    @property
    def rate(self) -> int: ...  # Hz of frames() and play()

    @property
    def codec(self) -> str: ...  # negotiated codec name, e.g. "G722"

    def frames(self) -> AsyncIterator[AudioChunk]:
        """Caller audio, one 20 ms chunk at a time; ends when the call ends."""
        ...

    async def play(self, chunk: AudioChunk) -> None:
        """Queue audio for the caller (any length, at `rate`)."""
        ...

    async def drain(self) -> float | None:
        """Wait until queued audio has been sent; return when its first frame left (monotonic)."""
        ...

    def stop_playback(self) -> None: ...

    async def hangup(self) -> None: ...


CallHandler = Callable[[CallHandle], Awaitable[None]]

DTMF_DIGITS = frozenset("0123456789*#ABCD")


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """One key the caller pressed. Digits may be card numbers (PCI): never log them."""

    digit: str  # one of DTMF_DIGITS
    duration_ms: int  # ms the key was held, as the sender reported it (0: unknown)
    method: str  # "rfc4733" (RTP telephone-event) | "sip-info"
    at: float  # monotonic s when it arrived


class DtmfCallHandle(CallHandle, Protocol):
    """A call that also carries keypad digits (optional: not every CallHandle does)."""

    def dtmf(self) -> AsyncIterator[DtmfDigit]:
        """Digits as they arrive; ends when the call ends."""
        ...

    async def send_dtmf(self, digits: str, method: str = "rfc4733") -> None: ...


class Telephony(Protocol):
    async def start(self, on_call: CallHandler) -> None: ...
    async def stop(self) -> None: ...
    def active_calls(self) -> int: ...


class EndOfTurnDetector(Protocol):
    """Feeds 20 ms frames; returns an Utterance when the caller finished a turn."""

    def feed(self, chunk: AudioChunk) -> Utterance | None: ...
    def reset(self) -> None: ...


@runtime_checkable
class SpeechActivity(Protocol):
    """A detector that also says whether the caller is speaking now (for barge-in)."""

    @property
    def speech_active(self) -> bool: ...  # from the start of speech to the end of the turn

    @property
    def probability(self) -> float: ...  # speech probability of the latest audio


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
        self, call_id: str, kind: str, stage: str | None, code: str | None, at: float
    ) -> None: ...


class SessionObserver(Protocol):
    """Metadata-only hooks (metrics); never receives text or audio."""

    def call_started(self) -> None: ...
    def call_ended(self, outcome: str) -> None: ...
    def stage_time(self, stage: str, seconds: float) -> None: ...
    def stage_failed(self, stage: str, code: str) -> None: ...


@runtime_checkable
class Directed(Protocol):
    """A ChatModel that also decides call control (the workflow engine does)."""

    def directive(self) -> Directive | None:
        """What to do after the reply just streamed; cleared once read."""
        ...


class TransferOutcome(Protocol):
    @property
    def ok(self) -> bool: ...  # the target answered

    @property
    def reason(self) -> str: ...  # "answered" | "failed" | "refused" | "timeout" | ...


@runtime_checkable
class Transferable(Protocol):
    """A call that can be handed to another party (blind transfer, REFER)."""

    async def transfer(
        self, uri: str, headers: dict[str, str] | None = None, within: float = 20.0
    ) -> TransferOutcome: ...


# the whisper's audio, or (so that it is synthesized while the desk rings) its future
Whisper = Sequence[AudioChunk] | Awaitable[Sequence[AudioChunk]]


@runtime_checkable
class AttendedTransferable(Protocol):
    """A call that can consult the target first (attended transfer): a consultation call
    carrying the X-headers, an optional whisper to whoever answers it, then REFER with
    Replaces; `whispered(complete)` is told once the whisper went out (False: cut)."""

    async def attended_transfer(
        self,
        uri: str,
        headers: dict[str, str] | None = None,
        ring_s: float = 20.0,
        within: float = 20.0,
        whisper: Whisper | None = None,
        whispered: Callable[[bool], None] | None = None,
    ) -> TransferOutcome: ...

"""What the parts of a call session share: its dependencies, its state, its event log.

`CallSession` (session.py) is made of mixins over `SessionBase`: speaking.py,
listening.py, directives.py and turns.py. `CallSession.__init__` sets the attributes
declared here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from appliance.conversation.early_stt import EarlyStt
from appliance.conversation.filler import Filler
from appliance.conversation.playout import Playout
from appliance.conversation.prompts import PromptCache, Prompts
from appliance.conversation.timing import within
from appliance.conversation.turn_taking import TurnPolicy
from appliance.domain import CallState, ChatMessage, SessionEvent, Transcript, Utterance
from appliance.errors import ApplianceError
from appliance.governance.consent import ConsentPolicy
from appliance.governance.pci import PaymentPause, PciPolicy
from appliance.ports import (
    CallHandle,
    CallRecorder,
    ChatModel,
    Clock,
    EndOfTurnDetector,
    SessionObserver,
    SpeechToText,
    TextToSpeech,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SessionDeps:
    stt: SpeechToText
    tts: TextToSpeech
    llm: ChatModel
    new_detector: Callable[[], EndOfTurnDetector]
    recorder: CallRecorder
    prompts: Prompts
    cache: PromptCache
    observer: SessionObserver
    clock: Clock
    stage_timeout_s: float = 20.0  # s, for each of STT, LLM+TTS
    max_history: int = 8  # chat messages kept for context
    no_speech_threshold: float = 0.8  # Whisper no_speech_prob above which a turn is ignored
    policy: TurnPolicy = field(default_factory=TurnPolicy)  # barge-in, filler and re-prompt timing
    front_desk_uri: str = ""  # SIP URI for transfers to a human ("" = none configured)
    transfer_mode: str = "blind"  # "blind" | "attended" ([workflows] transfer_mode)
    whisper: bool = True  # attended: one PHI-free sentence to the desk before bridging
    pci: PciPolicy = field(default_factory=PciPolicy)  # payment mode (off by default)
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)  # declining AI handling


class SessionBase:
    """The state of one call session (set in `CallSession.__init__`) and shared helpers."""

    _call: CallHandle
    _d: SessionDeps
    _queue: asyncio.Queue[Utterance | ApplianceError | None]
    _ended: asyncio.Event
    _history: list[ChatMessage]
    _playing: bool  # agent audio is queued or going out
    _interruptible: bool  # ... and the caller may cut it
    _caller_speaking: bool
    _current: asyncio.Future[object] | None  # work a barge-in cancels
    _stopped_at: float | None  # monotonic s of the last barge-in stop
    _out: Playout  # all agent audio: pause/resume for barge-in
    _filler: Filler
    _started: float  # monotonic s the call was answered (set in run)
    state: CallState
    events: list[SessionEvent]
    payment: PaymentPause  # PCI pause: no audio, digits counted
    _judging: set[asyncio.Task[None]]  # words of barge-ins into a pause
    _heard: dict[int, Transcript]  # id(utterance) -> its transcript, if known
    _early: EarlyStt  # STT from the first pause of a turn

    async def _stage(self, work: Awaitable[T], error: ApplianceError) -> T:
        return await within(self._d.clock, self._d.stage_timeout_s, work, error)

    def _wall(self, monotonic: float) -> float:
        clock = self._d.clock
        return clock.time() - (clock.monotonic() - monotonic)

    def _event(
        self,
        kind: str,
        stage: str | None = None,
        code: str | None = None,
        timings: dict[str, float | None] | None = None,
    ) -> None:
        self.events.append(
            SessionEvent(self._call.call_id, kind, self._d.clock.time(), stage, code, timings or {})
        )

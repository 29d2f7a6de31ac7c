"""What a call session is given: its ports, the agent plane of the call, and its policies
(the settings' own structs: [conversation], [vad], [pci], [consent])."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.config import Conversation, Vad
from appliance.conversation.audio_keep import AudioSampling
from appliance.conversation.prompts import PromptCache
from appliance.governance.consent import ConsentPolicy
from appliance.governance.pci import PciPolicy
from appliance.ports import (
    AgentPlane,
    CallRecorder,
    Clock,
    EndOfTurnDetector,
    SessionObserver,
    SpeechToText,
    TextToSpeech,
    TraceSink,
)


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """Where and how a caller is handed to a human ([workflows] front_desk_uri, ...)."""

    front_desk_uri: str = ""  # SIP URI of the front desk ("" = none configured)
    mode: str = "blind"  # "blind" | "attended" (consultation call first)
    whisper: bool = True  # attended: one PHI-free sentence to the desk before bridging


@dataclass(frozen=True, slots=True)
class SessionDeps:
    stt: SpeechToText
    tts: TextToSpeech
    agent: AgentPlane  # this call's (the agent planes keep per-call state)
    new_detector: Callable[[], EndOfTurnDetector]
    recorder: CallRecorder
    cache: PromptCache
    observer: SessionObserver
    clock: Clock
    stage_timeout_s: float = 20.0  # s, for each of STT, LLM+TTS
    max_history: int = 8  # chat messages kept for context
    no_speech_threshold: float = 0.8  # Whisper no_speech_prob above which a turn is ignored
    conversation: Conversation = field(default_factory=Conversation)  # barge-in, filler, ...
    vad: Vad = field(default_factory=Vad)  # voiced threshold, early end of turn
    transfer: TransferPolicy = field(default_factory=TransferPolicy)
    pci: PciPolicy = field(default_factory=PciPolicy)  # payment mode (off by default)
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)  # declining AI handling
    # keyed hash of the caller's number (stored and given to the agent plane, never the
    # number itself); None: no caller key (the identity lockout is then off)
    caller_hash: Callable[[str], str] | None = None
    tracer: TraceSink | None = None  # the call's spans when it has ended (None: no traces)
    audio_sample: AudioSampling | None = None  # [quality] audio_sample (None: off)

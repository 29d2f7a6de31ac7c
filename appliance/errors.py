"""Coded errors: every stage wraps unexpected failures in its own subclass.

The message of an error must never contain PHI (transcript text, names, numbers
spoken by the caller). Codes are stable strings that logs, metrics and the audit
trail can carry.
"""

from __future__ import annotations


class ApplianceError(Exception):
    """Base error with a stable machine-readable code and a PHI-free message."""

    stage = "appliance"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message


class ConfigError(ApplianceError):
    stage = "config"


class TelephonyError(ApplianceError):
    stage = "telephony"


class AudioError(ApplianceError):
    stage = "audio"


class SpeechToTextError(ApplianceError):
    stage = "stt"


class TextToSpeechError(ApplianceError):
    stage = "tts"


class VadError(ApplianceError):
    stage = "vad"


class ChatModelError(ApplianceError):
    stage = "llm"


class StoreError(ApplianceError):
    stage = "store"


class ModelError(ApplianceError):
    stage = "models"


class SchedulingError(ApplianceError):
    stage = "scheduling"


class GovernanceError(ApplianceError):
    stage = "governance"


class SimulationError(ApplianceError):
    """Simulated calls: a bad scenario file, a target that does not answer."""

    stage = "simulation"


class ConsoleError(ApplianceError):
    """The console's accounts and sign-in (messages never carry a password or code)."""

    stage = "console"


class OutboundError(ApplianceError):
    stage = "outbound"

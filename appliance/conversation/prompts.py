"""Fixed things the agent says, synthesized once at start-up and kept in memory.

Every prompt has a `Prompt` key: a misspelt key is a type error, and a prompt without
text or audio stops the agent at start-up (`PromptError`) instead of playing silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from appliance.audio import AudioChunk
from appliance.errors import ApplianceError
from appliance.governance.consent import QUALITY_RECORDING
from appliance.governance.pci import PCI_DONE, PCI_FAILED, PCI_NOTICE
from appliance.ports import TextToSpeech


class Prompt(StrEnum):
    """The key of each fixed prompt; `PromptCache.prepare` needs audio for all of them."""

    GREETING = "greeting"
    APOLOGY = "apology"
    GOODBYE = "goodbye"
    NOT_HEARD = "not_heard"
    FILLER = "filler"
    REPROMPT = "reprompt"
    SILENCE_GOODBYE = "silence_goodbye"
    NO_TRANSFER = "no_transfer"
    HOLD = "hold"  # played while a transfer rings
    PCI_NOTICE = "pci_notice"  # the PCI pause (appliance/governance/pci.py)
    PCI_DONE = "pci_done"
    PCI_FAILED = "pci_failed"


class PromptError(ApplianceError):
    """A fixed prompt without text or audio ("prompt-empty", "prompt-missing"), or an
    unknown key ("prompt-unknown")."""

    stage = "prompts"


@dataclass(frozen=True, slots=True)
class Prompts:
    greeting: str
    apology: str
    goodbye: str
    not_heard: str
    system: str
    filler: str = "One moment."
    reprompt: str = "Are you still there? How can I help you?"
    no_transfer: str = (
        "I'm sorry, I can't connect you to the front desk right now. "
        "Please call them directly. Is there anything else I can help you with?"
    )
    silence_goodbye: str = (
        "I haven't heard anything, so I'll end the call now. Please call again any time. Goodbye."
    )
    hold: str = "Please hold while I connect you."  # played while a transfer rings


def clinic_prompts(
    clinic: str, front_desk_hours: str, facts: str = "", quality_recording: bool = False
) -> Prompts:
    """The clinic's fixed prompts; `quality_recording` ([quality] audio_sample): the
    disclosure also says the call may be recorded for quality."""
    recorded = f"{QUALITY_RECORDING} " if quality_recording else ""
    return Prompts(
        greeting=(
            f"You're speaking with the automated assistant of {clinic}. "
            "I am an AI system, and you can ask for a person at any time. "
            f"{recorded}How can I help you today?"
        ),
        apology=(
            "I'm sorry, something went wrong on our side. "
            f"Please call the front desk again, {front_desk_hours}. Goodbye."
        ),
        goodbye=f"Thank you for calling {clinic}. Goodbye.",
        not_heard="Sorry, I didn't catch that. Could you say it again?",
        system=(
            f"You are the friendly receptionist of {clinic}, talking with a patient on the "
            "phone. You are an AI assistant. Always help: say what you can do and what "
            "happens next. Reply in one or two short spoken sentences, no lists or markdown. "
            f"Clinic facts: open {front_desk_hours}. {facts} "
            "The front desk confirms every appointment request. Never invent appointment "
            "times or give medical advice. In an emergency tell the caller to hang up and "
            "dial 911."
        ),
    )


class PromptCache:
    """Audio of the fixed prompts, ready before the first call arrives."""

    def __init__(self) -> None:
        self._audio: dict[Prompt, list[AudioChunk]] = {}
        self._text: dict[Prompt, str] = {}  # what each prompt says (recorded as spoken)

    async def prepare(self, tts: TextToSpeech, texts: Mapping[Prompt, str]) -> None:
        """Synthesize `texts` (a later call replaces those prompts' audio).

        Raises `PromptError` if a text is blank or synthesizes to no audio, or if any
        `Prompt` would still have no audio; the cache is then left as it was.
        """
        audio: dict[Prompt, list[AudioChunk]] = {}
        said: dict[Prompt, str] = {}
        for key, text in texts.items():
            prompt = _known(key)
            if not text.strip():
                raise PromptError("prompt-empty", f"prompt {prompt.value!r} has no text")
            chunks = [chunk async for chunk in tts.synthesize(text)]
            if not any(chunk.samples for chunk in chunks):
                raise PromptError("prompt-empty", f"prompt {prompt.value!r} has no audio")
            audio[prompt], said[prompt] = chunks, text
        missing = [p.value for p in Prompt if p not in audio and p not in self._audio]
        if missing:
            raise PromptError("prompt-missing", f"no text for prompts: {', '.join(missing)}")
        self._audio.update(audio)
        self._text.update(said)

    def get(self, key: Prompt) -> list[AudioChunk]:
        """The prompt's audio; `PromptError` ("prompt-missing") if it was never prepared."""
        chunks = self._audio.get(key)
        if not chunks:
            raise PromptError("prompt-missing", f"prompt {str(key)!r} was not prepared")
        return chunks

    def text(self, key: Prompt) -> str:
        """What the prompt says; `PromptError` ("prompt-missing") if it was never prepared."""
        self.get(key)
        return self._text[key]

    @classmethod
    def for_prompts(cls, prompts: Prompts) -> dict[Prompt, str]:
        """The text of every `Prompt` (the PCI pause's: its defaults, see PciPolicy)."""
        return {
            Prompt.GREETING: prompts.greeting,
            Prompt.APOLOGY: prompts.apology,
            Prompt.GOODBYE: prompts.goodbye,
            Prompt.NOT_HEARD: prompts.not_heard,
            Prompt.FILLER: prompts.filler,
            Prompt.REPROMPT: prompts.reprompt,
            Prompt.SILENCE_GOODBYE: prompts.silence_goodbye,
            Prompt.NO_TRANSFER: prompts.no_transfer,
            Prompt.HOLD: prompts.hold,
            Prompt.PCI_NOTICE: PCI_NOTICE,
            Prompt.PCI_DONE: PCI_DONE,
            Prompt.PCI_FAILED: PCI_FAILED,
        }


def _known(key: str) -> Prompt:
    """`key` as a `Prompt`; a plain string that names none is a coded error."""
    try:
        return Prompt(key)
    except ValueError:
        raise PromptError("prompt-unknown", f"no prompt is called {key!r}") from None

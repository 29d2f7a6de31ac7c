"""Fixed things the agent says, synthesized once at start-up and kept in memory."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.audio import AudioChunk
from appliance.ports import TextToSpeech


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


def clinic_prompts(clinic: str, front_desk_hours: str, facts: str = "") -> Prompts:
    return Prompts(
        greeting=(
            f"You're speaking with the automated assistant of {clinic}. "
            "I am an AI system, and you can ask for a person at any time. "
            "How can I help you today?"
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
        self._audio: dict[str, list[AudioChunk]] = {}

    async def prepare(self, tts: TextToSpeech, texts: dict[str, str]) -> None:
        for key, text in texts.items():
            self._audio[key] = [chunk async for chunk in tts.synthesize(text)]

    def get(self, key: str) -> list[AudioChunk] | None:
        return self._audio.get(key)

    @classmethod
    def for_prompts(cls, prompts: Prompts) -> dict[str, str]:
        return {
            "greeting": prompts.greeting,
            "apology": prompts.apology,
            "goodbye": prompts.goodbye,
            "not_heard": prompts.not_heard,
            "filler": prompts.filler,
            "reprompt": prompts.reprompt,
            "silence_goodbye": prompts.silence_goodbye,
            "no_transfer": prompts.no_transfer,
            "hold": prompts.hold,
        }

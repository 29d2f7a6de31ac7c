"""Semantic end of turn: is the caller's utterance, as transcribed so far, clearly complete?

The VAD ends a turn after `[vad] min_silence_ms` (700 ms) of silence. Speculative STT
(early_stt.py) transcribes the turn after `early_stt_ms` (300 ms) of it; when that
transcript is a complete thought ("What time do you open on Saturday?"), the session ends
the turn at once instead of waiting out the rest of the silence (`[vad] early_end_of_turn`).

Complete means: Whisper closed it with a sentence-final mark, its last word does not ask
for more (a conjunction, article, preposition, hesitation: "I'd like to book, um..."),
it does not end in digits (numbers are dictated in groups, with pauses), and Whisper was
confident about it. Anything else waits for the full silence, as before. The cost of a
wrong "complete" is a caller who speaks on after the agent has started to think: their
words then become the next turn (and barge into the reply if it is already playing).
"""

from __future__ import annotations

import re

from appliance.domain import Transcript

# words after which a speaker usually goes on (lower case, apostrophes kept)
CONTINUATIONS = frozenset(
    {
        "a", "an", "the", "and", "or", "but", "so", "because", "if", "then", "than",
        "that", "which", "who", "whose", "when", "where", "while", "to", "of", "for",
        "with", "at", "on", "in", "into", "from", "by", "about", "like", "my", "your",
        "our", "his", "her", "their", "its", "is", "are", "was", "were", "be", "am",
        "i", "i'm", "i'd", "i'll", "we", "you", "um", "uh", "er", "erm", "hmm", "mm",
        "well", "also", "plus", "maybe", "just", "actually", "need", "want", "doctor",
        "dr", "mr", "mrs", "ms", "number",
    }
)  # fmt: skip
_FINAL = re.compile(r"[.?!][\"')\]]*$")
_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ELLIPSIS = re.compile(r"(\.\.\.|…)[\"')\]]*$")
_ENDS_IN_DIGIT = re.compile(r"\d[.?!]*$")


def looks_complete(
    transcript: Transcript, min_logprob: float = -1.0, max_no_speech: float = 0.5
) -> bool:
    """True when `transcript` reads as a finished turn (see the module docstring)."""
    text = transcript.text.strip()
    if not text or transcript.avg_logprob < min_logprob:
        return False
    if transcript.no_speech_prob > max_no_speech:
        return False
    if not _FINAL.search(text) or _ELLIPSIS.search(text) or _ENDS_IN_DIGIT.search(text):
        return False
    words = _WORDS.findall(text.lower())
    return bool(words) and words[-1] not in CONTINUATIONS

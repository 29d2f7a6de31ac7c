"""The clinic dialogues of bench/turn_gap.py (its default, `--script clinic`).

What a caller says in the real flows of the clinic agent against the synthetic demo clinic
(appliance/demo/clinic, seeded on the appliance's first start at today's date), one line
per turn, and what the store must show afterwards. Calls cycle through the kinds:

- booking: a checkup, the name and the birth date in two turns, a day ("next week, in
  the morning": slots whatever today is), the first offered slot, yes: booked;
- faq: two knowledge-base questions: answered from the KB, no identity asked;
- cancel: the request, name and birth date in one turn, yes: the demo patient's seeded
  appointment cancelled (a different patient each cycle, so each has one to cancel);
- person: a request for the front desk: transferred to the demo desk (the measured turn
  is the gap to the transfer line).

Each line is synthesized once by Piper in the caller's voice setting
(turn_gap_support.CALLER_VOICE).
"""

from __future__ import annotations

import hashlib
import wave
from dataclasses import dataclass
from pathlib import Path

KINDS = ("booking", "faq", "cancel", "person")
BOOKING_PATIENT = "synthetic-01"  # Maria Gonzalez, 1982-04-04


@dataclass(frozen=True, slots=True)
class Dialogue:
    kind: str
    lines: tuple[str, ...]
    patient_id: str | None = None  # the demo patient it books for or cancels for


BOOKING = Dialogue(
    "booking",
    (
        "I'd like to book a checkup.",
        "Maria Gonzalez.",
        "April fourth, nineteen eighty two.",
        "Next week, in the morning.",
        "The first one.",
        "Yes, please.",
    ),
    BOOKING_PATIENT,
)
FAQS = (
    ("What time do you open on Saturday?", "Do you have parking?"),
    ("Do you take Blue Cross insurance?", "Where are you located?"),
)
# demo patients with a seeded appointment (appliance/demo/clinic/appointments.csv)
CANCELS = (
    ("John Smith, September thirtieth, nineteen seventy five.", "synthetic-02"),
    ("Katherine Reilly, January thirtieth, nineteen fifty five.", "synthetic-06"),
    ("Thanh Nguyen, July fifteenth, nineteen ninety.", "synthetic-05"),
    ("Robert Kowalczyk, December second, nineteen forty seven.", "synthetic-09"),
)
PERSON = Dialogue("person", ("I'd rather talk to somebody at the front desk.",))


def dialogue(call: int) -> Dialogue:
    """The dialogue of the `call`th call (0-based): the kinds in turn, variants by cycle."""
    kind, cycle = KINDS[call % len(KINDS)], call // len(KINDS)
    if kind == "booking":
        return BOOKING
    if kind == "faq":
        return Dialogue("faq", FAQS[cycle % len(FAQS)])
    if kind == "cancel":
        who, patient = CANCELS[cycle % len(CANCELS)]
        return Dialogue("cancel", ("I need to cancel my appointment.", who, "Yes."), patient)
    return PERSON


def synthesize(models: Path, voice: str, out: Path, lines: set[str]) -> dict[str, Path]:
    """A WAV per line, in the caller's voice setting (not the agent's)."""
    from piper import PiperVoice, SynthesisConfig

    from bench.turn_gap_support import CALLER_VOICE

    out.mkdir(parents=True, exist_ok=True)
    piper = PiperVoice.load(models / voice / f"{voice}.onnx")
    config = SynthesisConfig(**CALLER_VOICE)  # type: ignore[arg-type]
    found: dict[str, Path] = {}
    for text in sorted(lines):
        path = out / f"line-{hashlib.sha256(text.encode()).hexdigest()[:10]}.wav"
        with wave.open(str(path), "wb") as w:
            piper.synthesize_wav(text, w, syn_config=config)
        found[text] = path
    return found

"""Reading the labelled caller lines as a call would: shared by bench/understanding.py and
tests/unit/test_understanding_accuracy.py."""

from __future__ import annotations

import csv
from pathlib import Path

from appliance.llm.understanding import Intent
from appliance.scheduling.model import AppointmentType, Provider
from appliance.workflows.kb import load_kb
from appliance.workflows.said import Vocabulary
from appliance.workflows.understander import Understanding
from appliance.workflows.verify import heard_in_answer

DEMO = Path(__file__).resolve().parents[1] / "appliance" / "demo" / "clinic"


def demo_vocabulary() -> Vocabulary:
    """The demo clinic's providers, appointment types and knowledge base."""
    with (DEMO / "providers.csv").open(encoding="utf-8") as fh:
        providers = tuple(Provider(r["id"], r["name"], r["specialty"]) for r in csv.DictReader(fh))
    with (DEMO / "appointment_types.csv").open(encoding="utf-8") as fh:
        types = tuple(
            AppointmentType(r["id"], r["name"], int(r["minutes"])) for r in csv.DictReader(fh)
        )
    return Vocabulary(providers, types, load_kb(DEMO / "kb.toml"))


def produced_slots(u: Understanding, text: str) -> dict[str, str]:
    """The details as the labelled set writes them. A line that only informs is read as
    the answer to "your full name and date of birth?" (as the identity step reads it);
    a topic counts only on a clinic question."""
    if u.intent in (Intent.EMERGENCY, Intent.GOODBYE, Intent.OTHER):
        return {}  # the set's convention: these lines carry no details
    said, w = u.said, u.said.when
    if u.intent == Intent.CLINIC_INFO:
        return {"topic": said.topic} if said.topic else {}
    if u.intent in (Intent.REFILL, Intent.BILLING, Intent.TEST_RESULTS):
        w = type(w)(None, None, None)  # the set's convention: their days are not visits
    name: tuple[str, ...] | None = said.name
    if name is None and u.intent == Intent.INFORM:
        parts = tuple(p for p in heard_in_answer(text) if p)
        name = parts or None
    found = {
        "name": " ".join(name) if name else None,
        "dob": said.dob.isoformat() if said.dob else None,
        "day": w.day.isoformat() if w.day else None,
        "time": w.at.strftime("%H:%M") if w.at else None,
        "part_of_day": w.part_of_day,
        "provider": said.provider,
        "appointment_type": said.appointment_type,
        "topic": None,
    }
    return {k: v for k, v in found.items() if v}

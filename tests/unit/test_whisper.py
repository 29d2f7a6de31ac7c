"""The whisper to the front desk: one vetted sentence from the handoff packet's codes,
never a slot value; and the [workflows] transfer settings that turn it on."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.config import load_settings
from appliance.conversation.flows.whisper import (
    INTENTS,
    OTHER_REASON,
    REASONS,
    packet_whisper,
    whisper_text,
)
from appliance.errors import ConfigError
from appliance.llm.understanding import Intent
from appliance.scheduling.model import Appointment, Patient, Slot
from appliance.workflows.handoff import Heard, build_packet, validate
from appliance.workflows.state import DialogueState, Stage

pytestmark = pytest.mark.unit

TZ = ZoneInfo("America/New_York")
START = datetime(2026, 12, 1, 10, 30, tzinfo=TZ)


def test_the_example_sentence() -> None:
    assert whisper_text("caller-request", "reschedule", True) == (
        "Transferring a caller who wants to reschedule an appointment; identity verified; "
        "they asked for a person."
    )
    assert whisper_text("not-understood", None, False) == (
        "Transferring a caller; identity not verified; the assistant could not understand them."
    )
    assert whisper_text("consent-declined") == (
        "Transferring a caller; they declined the automated assistant."
    )


def test_a_failed_identity_is_said_once() -> None:
    text = whisper_text("identity-failed", "cancel", False)
    assert text == (
        "Transferring a caller who wants to cancel an appointment; "
        "their identity could not be confirmed."
    )


@pytest.mark.parametrize("intent", [*INTENTS, "other", "speak_to_person", None])
@pytest.mark.parametrize("reason", [*REASONS, "made-up-code"])
def test_every_combination_is_one_plain_sentence(reason: str, intent: str | None) -> None:
    text = whisper_text(reason, intent, True)
    assert text.startswith("Transferring a caller") and text.endswith(".")
    assert text.count(".") == 1 and not re.search(r"\d", text)
    assert (reason in REASONS) == (OTHER_REASON not in text)
    assert "made-up-code" not in text  # an unknown code is never read out


def packet_with_phi() -> dict[str, object]:
    """A real, validated packet full of PHI: name, DOB, phone, the caller's words, times."""
    patient = Patient("p1", "Maria", "Gonzalez", date(1980, 4, 12))
    slot = Slot("d1", "checkup", START, START.replace(hour=11))
    state = DialogueState(
        task=Intent.RESCHEDULE,
        stage=Stage.CHOOSE_SLOT,
        patient=patient,
        offered=[slot],
        appointment=Appointment("a1", "p1", "d1", "checkup", START, START, "booked"),
    )
    heard = Heard(intent="reschedule", turns=3)
    heard.slots.update(
        patient_name="Maria Gonzalez",
        date_of_birth="April 12th 1980",
        reason="my knee hurts, call me back at 555 0142",
        provider="Dr Amanda Lee",
        date="next Tuesday",
    )
    packet = build_packet(state, heard, "call-1", "caller-request", {"d1": "Dr Amanda Lee"}, 0.0)
    validate(packet)
    return packet


def test_no_slot_value_from_the_packet_reaches_the_sentence() -> None:
    packet = packet_with_phi()
    text = packet_whisper(packet, "caller-request")
    assert text == (
        "Transferring a caller who wants to reschedule an appointment; identity verified; "
        "they asked for a person."
    )
    phi = ["Maria", "Gonzalez", "1980", "April", "555", "0142", "knee", "Amanda", "Lee"]
    values = [*phi, "Tuesday", "10:30", "December", "p1", "call-1", str(packet["handoff_id"])]
    for value in values:
        assert value.lower() not in text.lower(), value


def test_without_a_packet_the_reason_alone_is_said() -> None:
    assert packet_whisper(None, "billing-payment") == (
        "Transferring a caller; they want to make a payment."
    )
    odd = {"reason": "caller-request", "intent": 7, "caller": "Maria"}  # not a valid packet
    assert packet_whisper(odd, "x") == "Transferring a caller; they asked for a person."


def test_transfer_settings_default_to_blind_with_a_whisper(tmp_path: Path) -> None:
    s = load_settings(None)
    assert (s.workflows.transfer_mode, s.workflows.whisper) == ("blind", True)
    cfg = tmp_path / "a.toml"
    cfg.write_text('[workflows]\ntransfer_mode = "attended"\nwhisper = false\n')
    s = load_settings(cfg)
    assert (s.workflows.transfer_mode, s.workflows.whisper) == ("attended", False)


@pytest.mark.parametrize(
    "text",
    ['[workflows]\ntransfer_mode = "warm"\n', "[workflows]\nwhisper = 1\n"],
)
def test_bad_transfer_settings_are_a_coded_error(tmp_path: Path, text: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert err.value.code == "config-invalid"
    assert "transfer_mode" in str(err.value) or "whisper" in str(err.value)

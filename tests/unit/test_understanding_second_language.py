"""Callers whose first language is another (concepts from the unseen first run of
lines_dev13) and a twelfth author's lines (dev12): requests in their English, dangers said
plainly, a provider called by first name after a title, middle names, "Dr." in a sentence,
particles after a relative. New phrasings, not the tuning lines; each case failed before."""

from __future__ import annotations

import pytest

from appliance.llm.understanding import Intent
from appliance.workflows.intents import read
from appliance.workflows.names import introduced_name
from appliance.workflows.wording import normal
from tests.understanding_eval import demo_vocabulary

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "said",
    [
        "my husband the face is falling to one side and the leg no move",
        "my grandmother cannot talk good since ten minutes",
        "my son is shaking on the ground",
        "she don't answer me, she is on the floor",
        "my little girl drank the medicine of her grandpa",
        "after the birth she is soaking a pad every hour",
        "his lips are getting big after the shrimp",
        "her tongue's swelling up",
        "my breathing is a struggle since this morning",
    ],
)
def test_dangers_said_plainly(said: str) -> None:
    assert read(said).intent == Intent.EMERGENCY


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("i need appointment for my wife, she have the headache", Intent.BOOK),
        ("quiero una cita for tuesday", Intent.BOOK),
        ("please change my appointment for the afternoon", Intent.RESCHEDULE),
        ("is possible other date for my son", Intent.RESCHEDULE),
        ("i want annul the appointment of friday", Intent.CANCEL),
        ("my appointment on monday is confirm or no", Intent.APPOINTMENT_STATUS),
        ("what hour you close on friday", Intent.CLINIC_INFO),
        ("you do the blood test there", Intent.CLINIC_INFO),
        ("do i need an appointment for the flu shot", Intent.CLINIC_INFO),
        ("can i come at 3 instead of 11", Intent.RESCHEDULE),
    ],
)
def test_requests_in_a_second_language(said: str, intent: Intent) -> None:
    assert read(said).intent == intent


@pytest.mark.parametrize(
    ("said", "provider"),
    [
        ("can my daughter see doctor grace on friday", "okafor"),
        ("i'd like dr ravi for the rash", "patel"),
        ("my friend grace said you're good", None),  # no title: no provider
    ],
)
def test_a_provider_called_by_first_name(said: str, provider: str | None) -> None:
    assert demo_vocabulary().provider(normal(said)) == provider


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("my mother luz maria de la cruz needs a checkup", ("Luz Maria", "De La Cruz")),
        ("this is jose luis ortega calling about my results", ("Jose Luis", "Ortega")),
        ("I'd like Tuesday with Dr. Amanda Lee, please.", None),  # the doctor is no patient
    ],
)
def test_middle_names_particles_and_titles(said: str, name: tuple[str, str] | None) -> None:
    found = introduced_name(said)
    assert (found.pair() if found else None) == name

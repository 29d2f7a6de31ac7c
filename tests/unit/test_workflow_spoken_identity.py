"""Identity from the caller's own words as Whisper writes them, with no slot from a model:
the engine on the real built-in schedule (SQLCipher in a temporary directory)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.workflows import templates as t
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.said import Said
from appliance.workflows.understander import Understanding

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)  # Tuesday


def U(intent: Intent = Intent.INFORM) -> Understanding:
    """No details handed over (`Said()`): the engine reads identity from the words."""
    return Understanding(intent, Said(), False, 0.9, "rules")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[WorkflowEngine]:
    db = Database.open(tmp_path / "w.db", "cd" * 32, MIGRATIONS)
    import_directory(db, ASSETS / "schedule")
    schedule = BuiltinSchedule(db, TZ, now=lambda: NOW)
    yield WorkflowEngine(schedule, load_kb(ASSETS / "kb.toml"), TZ, clock=lambda: NOW)
    db.close()


@pytest.mark.parametrize(
    "said",
    [
        "maria gonzalez april twelfth nineteen eighty",  # p1, born 1980-04-12
        "Maria Gonzalez, April 12th, 1980.",
        "uh yes this is maria gonzales four twelve eighty",
        "Gonzalez, Maria, the twelfth of april nineteen eighty",
        "my first name is maria and last name gonzalez oh four twelve eighty",
    ],
)
async def test_identified_from_words_alone(engine: WorkflowEngine, said: str) -> None:
    asked = await engine.turn(U(Intent.APPOINTMENT_STATUS), "when is my appointment")
    assert asked.say == t.ASK_IDENTITY
    await engine.turn(U(), said)
    assert engine.state.patient is not None and engine.state.patient.id == "p1"


@pytest.mark.parametrize(
    "said",
    [
        "maria gonzalez april thirteenth nineteen eighty",  # another date of birth
        "i want to book an appointment april twelfth nineteen eighty",  # no name
        "john smith april twelfth nineteen eighty",
    ],
)
async def test_not_identified(engine: WorkflowEngine, said: str) -> None:
    await engine.turn(U(Intent.APPOINTMENT_STATUS), "when is my appointment")
    await engine.turn(U(), said)
    assert engine.state.patient is None

"""A caller who fails identity too often is locked out across calls (keyed by a hash of
their number, never the number), and each lockout is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.db import Database
from appliance.store.pseudonyms import caller_hash
from appliance.workflows import templates as t
from appliance.workflows.engine import Policy, WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.lockout import IdentityLockouts
from appliance.workflows.said import Vocabulary, read_details
from appliance.workflows.state import Decision
from appliance.workflows.understander import Understanding

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
START = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)
MARIA = "My name is Maria Gonzalez, born April 12th, 1980."
WRONG = "My name is Maria Gonzalez, born April 13th, 1980."
KEY = b"k" * 32
NUMBER = "+15550100001"


async def say(engine: WorkflowEngine, text: str, intent: Intent = Intent.INFORM) -> Decision:
    """One caller turn: a scripted intent, the details the parsers read in `text`."""
    said = read_details(text, Vocabulary(), engine.now())
    return await engine.turn(Understanding(intent, said, False, 0.9, "rules"), text)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "w.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


class Clinic:
    """One engine per call, all on the same store and the same (movable) clock."""

    def __init__(self, db: Database) -> None:
        self.now = START
        self.schedule = BuiltinSchedule(db, TZ, now=lambda: self.now)
        self.lockouts = IdentityLockouts(db)
        self.calls = 0

    def call(self, number: str = NUMBER) -> WorkflowEngine:
        self.calls += 1
        kb = load_kb(ASSETS / "kb.toml")
        engine = WorkflowEngine(
            self.schedule, kb, TZ, Policy(), clock=lambda: self.now, lockouts=self.lockouts
        )
        engine.caller_key, engine.call_id = caller_hash(KEY, number), f"call-{self.calls}"
        return engine


async def fail_once(engine: WorkflowEngine) -> str | None:
    if engine.state.stage.value == "idle":
        await say(engine, "when is my appointment", Intent.APPOINTMENT_STATUS)
    return (await say(engine, WRONG)).transfer


async def test_three_failures_lock_the_caller_out_of_identity(db: Database) -> None:
    clinic = Clinic(db)
    first = clinic.call()
    assert [await fail_once(first), await fail_once(first)] == [None, "identity-failed"]
    second = clinic.call()
    locked = await fail_once(second)  # the third failure within the window
    assert locked == "identity-locked"
    third = clinic.call()  # even the right name and date of birth are refused at once
    said = await say(third, "when is my appointment " + MARIA, Intent.APPOINTMENT_STATUS)
    assert said.transfer == "identity-locked" and said.say == t.IDENTITY_LOCKED
    assert third.state.patient is None
    other = clinic.call("+15550100002")  # another caller is not affected
    await say(other, "when is my appointment", Intent.APPOINTMENT_STATUS)
    assert (await say(other, MARIA)).transfer is None
    records = db.query(read_records)
    locks = [r for r in records if r.action == "identity.locked"]
    assert [(r.reason_code, r.call_id) for r in locks] == [("identity-locked", "call-2")]
    refused = [a.outcome for a in third.state.actions]
    assert refused == ["locked", "identity-locked"]


async def test_the_lock_ends_after_the_window_and_old_failures_expire(db: Database) -> None:
    clinic = Clinic(db)
    engine = clinic.call()
    await fail_once(engine)
    await fail_once(engine)
    clinic.now += timedelta(hours=25)  # the two failures are out of the window
    engine = clinic.call()
    assert await fail_once(engine) is None
    await fail_once(engine)
    assert await fail_once(clinic.call()) == "identity-locked"
    clinic.now += timedelta(hours=23)
    assert (await say(clinic.call(), "cancel " + MARIA, Intent.CANCEL)).transfer == (
        "identity-locked"
    )
    clinic.now += timedelta(hours=2)
    assert (await say(clinic.call(), "cancel " + MARIA, Intent.CANCEL)).transfer is None


async def test_a_success_does_not_reset_the_count(db: Database) -> None:
    clinic = Clinic(db)
    engine = clinic.call()
    await fail_once(engine)
    await say(engine, MARIA)  # identified after one failure
    engine = clinic.call()
    await fail_once(engine)
    assert await fail_once(engine) == "identity-locked"


def test_the_number_is_stored_only_as_a_keyed_hash(db: Database) -> None:
    digest = caller_hash(KEY, "sip:+1 (555) 010-0001")
    assert digest == caller_hash(KEY, NUMBER) != caller_hash(b"x" * 32, NUMBER)
    assert "5550100001" not in digest and len(digest) == 64
    assert caller_hash(KEY, "") == caller_hash(KEY, "anonymous")  # one bucket for the unknown

"""Consent and disclosure auditing on virtual time, with the real store: the disclosure's
offset from the answer, a caller declining AI handling goes to a human, workflow actions
(identity verification, booking) and transfers in the audit log, metadata only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from appliance.config import Consent
from appliance.conversation.session import CallSession, TransferPolicy
from appliance.domain import AUDITED, EventKind, WorkflowAction
from appliance.governance.consent import ConsentPolicy
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog, read_records
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.fakes import FakeCall, FakeClock, FakeLlm, FakeStt, session_deps
from tests.unit.test_session_workflows import ASSETS, TransferringCall, chat

pytestmark = pytest.mark.unit


@pytest.fixture
def db(tmp_path: Path):
    database = Database.open(tmp_path / "calls.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


def audit_rows(db: Database) -> list[tuple[str, str | None, str]]:
    return [(r.action, r.reason_code, r.outcome) for r in db.query(read_records)]


async def test_disclosure_is_audited_with_its_offset_from_the_answer(db: Database) -> None:
    clock = FakeClock()
    repo = CallRepository(db)
    deps, _ = await session_deps(clock, repo, FakeStt(clock, ["Goodbye."]), FakeLlm(clock, []))
    await clock.run(CallSession(FakeCall(clock, answers=1), deps).run())
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert ("disclosure-played", "offset-ms:0") in events  # cached: out with the first frame
    actions = [a for a, _, _ in audit_rows(db)]
    assert actions[:2] == ["call.start", "call.disclosure-played"]
    assert AuditLog(db).verify().ok


@pytest.mark.parametrize("status", [200, 486])
async def test_a_caller_who_declines_ai_goes_to_the_front_desk(db: Database, status: int) -> None:
    clock = FakeClock()
    repo = CallRepository(db)
    llm = FakeLlm(clock, ["This must not be said."])
    stt = FakeStt(clock, ["I don't want to talk to a robot.", "Goodbye."])
    deps, _ = await session_deps(clock, repo, stt, llm)
    deps = dataclasses.replace(deps, transfer=TransferPolicy("sip:desk@127.0.0.1"))
    call = TransferringCall(clock, answers=3, status=status)
    session = CallSession(call, deps)
    await clock.run(session.run())
    assert llm.requests == []  # the declining words never went to the LLM
    assert [uri for uri, _ in call.transfers] == ["sip:desk@127.0.0.1"]
    assert call.transfers[0][1]["X-Appliance-Reason"] == "consent-declined"
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert ("consent-declined", "ai-handling") in events
    assert ("transfer-requested", "consent-declined") in events
    rows = audit_rows(db)
    assert ("call.consent-declined", "ai-handling", "ok") in rows
    kinds = [a for a, _, _ in rows]
    assert ("call.transfer-ok" if status == 200 else "call.transfer-failed") in kinds


def test_decline_phrases() -> None:
    policy = ConsentPolicy()
    for said in (
        "I don't want to talk to a robot.",
        "I do not wish to speak with a machine",
        "No robots, please.",
        "I'm not talking to an AI",
        "I don't consent to this.",
    ):
        assert policy.declines_ai(said), said
    for said in (
        "Can I talk to a real person?",  # a request for a person: the workflows escalate it
        "I don't want to talk about my robot vacuum",
        "Please book a checkup",
    ):
        assert not policy.declines_ai(said), said
    assert not ConsentPolicy(Consent(decline_to_human=False)).declines_ai("no robots")
    custom = ConsentPolicy(Consent(decline_phrases=["Stop the Assistant"]))
    assert custom.declines_ai("please stop the assistant now")


async def test_identity_and_booking_actions_are_audited(db: Database) -> None:
    clock = FakeClock()
    lines = [
        "I'd like to book an appointment.",
        "My name is Maria Gonzalez, born April 12th, 1980.",
        "Friday please.",
        "The first one.",
        "Yes please.",
        "No, that's all, goodbye.",
    ]
    repo = CallRepository(db)
    deps, _ = await session_deps(clock, repo, FakeStt(clock, lines), None)
    deps = dataclasses.replace(deps, agent=chat(db, clock))
    await clock.run(CallSession(FakeCall(clock, answers=len(lines)), deps).run())
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert [e for e in events if e[0].startswith("workflow-")] == [
        ("workflow-identify", "ok"),
        ("workflow-find-slots", "ok"),
        ("workflow-book", "ok"),
    ]
    rows = audit_rows(db)
    assert ("call.workflow-book", "ok", "ok") in rows
    text = repr(rows)
    for phi in ("Maria", "Gonzalez", "1980", "April"):
        assert phi not in text  # metadata only
    assert AuditLog(db).verify().ok


def test_every_workflow_action_is_an_audited_event_kind() -> None:
    for action in WorkflowAction:
        kind = EventKind.of_action(action)
        assert kind.value == f"workflow-{action.value}" and kind in AUDITED

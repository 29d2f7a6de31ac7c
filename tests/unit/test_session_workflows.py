"""A call session driven by the workflow engine: the real schedule on SQLCipher, scripted
speech and understanding on virtual time. The appointment must exist in the store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.conversation.session import CallSession
from appliance.domain import ChatMessage, Directive
from appliance.llm.understanding import Understander
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.workflows.agent import WorkflowChat
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import load_kb
from tests.fakes import FakeCall, FakeClock, FakeStt, session_deps

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)


class Understands:
    """Scripted structured output: one JSON answer per caller turn."""

    def __init__(self, answers: Sequence[dict[str, Any]]) -> None:
        self._answers = list(answers)

    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str
    ) -> str:
        item = self._answers.pop(0) if self._answers else {"intent": "other"}
        return json.dumps({"slots": {}, "wants_human": False, "confidence": 0.9, **item})


class TransferringCall(FakeCall):
    def __init__(self, *args: Any, ok: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ok = ok
        self.transfers: list[tuple[str, dict[str, str]]] = []

    async def transfer(self, uri: str, headers: dict[str, str] | None = None, within: float = 20):
        self.transfers.append((uri, dict(headers or {})))
        return type("Result", (), {"ok": self.ok, "reason": "answered" if self.ok else "refused"})


@pytest.fixture
def db(tmp_path: Path):
    database = Database.open(tmp_path / "calls.db", "ab" * 32)
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


class ClockedChat:
    """The real WorkflowChat, with virtual time held while the schedule's thread works."""

    def __init__(self, inner: WorkflowChat, clock: FakeClock) -> None:
        self._inner, self._clock = inner, clock

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        with self._clock.busy():
            chunks = [c async for c in self._inner.stream(messages)]
        for chunk in chunks:
            yield chunk

    def directive(self) -> Directive | None:
        return self._inner.directive()

    async def ready(self) -> bool:
        return True


def chat(db: Database, answers: Sequence[dict[str, Any]], clock: FakeClock) -> ClockedChat:
    schedule = BuiltinSchedule(db, TZ, now=lambda: NOW)
    engine = WorkflowEngine(schedule, load_kb(ASSETS / "kb.toml"), TZ, clock=lambda: NOW)
    return ClockedChat(WorkflowChat(Understander(Understands(answers)), engine), clock)


async def test_a_caller_books_by_voice(db: Database) -> None:
    clock = FakeClock()
    lines = [
        "I'd like to book an appointment.",
        "My name is Maria Gonzalez, born April 12th, 1980.",
        "Friday please.",
        "The first one.",
        "Yes please.",
        "No, that's all, goodbye.",
    ]
    understood = [{"intent": "book"}, {}, {"slots": {"date": "Friday"}}, {}, {}]
    repo = CallRepository(db)
    deps, _ = await session_deps(clock, repo, FakeStt(clock, lines), None)
    deps = dataclasses.replace(deps, llm=chat(db, understood, clock))
    call = FakeCall(clock, answers=len(lines))
    outcome = await clock.run(CallSession(call, deps).run())
    assert outcome == "completed"
    booked = await BuiltinSchedule(db, TZ, now=lambda: NOW).upcoming("p1")
    assert [a.start for a in booked] == [datetime(2026, 11, 27, 8, 0, tzinfo=TZ)]
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert any(
        "You're booked for Friday, November 27 at 8:00 AM with Dr Amanda Lee" in s for s in said
    )


async def test_an_emergency_ends_the_call(db: Database) -> None:
    clock = FakeClock()
    repo = CallRepository(db)
    stt = FakeStt(clock, ["My husband has chest pain"])
    deps, _ = await session_deps(clock, repo, stt, None)
    deps = dataclasses.replace(deps, llm=chat(db, [], clock))
    call = FakeCall(clock, answers=1)
    outcome = await clock.run(CallSession(call, deps).run())
    assert outcome == "completed" and call.hung_up
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert "dial 911" in said[-1]


@pytest.mark.parametrize("ok", [True, False])
async def test_a_request_for_a_person_is_transferred(db: Database, ok: bool) -> None:
    clock = FakeClock()
    repo = CallRepository(db)
    stt = FakeStt(clock, ["Can I talk to a real person?", "okay, goodbye"])
    deps, _ = await session_deps(clock, repo, stt, None)
    deps = dataclasses.replace(deps, llm=chat(db, [], clock), front_desk_uri="sip:desk@127.0.0.1")
    call = TransferringCall(clock, answers=2, ok=ok)
    session = CallSession(call, deps)
    outcome = await clock.run(session.run())
    assert call.transfers == [
        ("sip:desk@127.0.0.1",
         {"X-Appliance-Call": "fake-call", "X-Appliance-Reason": "caller-request"})
    ]  # fmt: skip
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert ("transfer-requested", "caller-request") in events
    assert (("transfer-ok", "answered") if ok else ("transfer-failed", "refused")) in events
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    if ok:
        assert outcome == "completed" and "front desk" in said[-1]
    else:  # the caller stays with the agent and is told
        assert any("can't connect you" in s for s in said)

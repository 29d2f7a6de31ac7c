"""A call session driven by the workflow engine: the real schedule on SQLCipher, scripted
speech, the product's understanding (rules and parsers; a scripted model for ties) on
virtual time. The appointment must exist in the store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.conversation.prompts import Prompt
from appliance.conversation.session import CallSession, TransferPolicy
from appliance.domain import LOW_WORDS, CallId, ChatMessage, Transcript, Utterance
from appliance.llm.understanding import LlmIntents
from appliance.observability.transfers import MESSAGES, transfers
from appliance.ports import AgentReply, AgentTurn, Handoff
from appliance.quality.scorer import score_pending, scores_since
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.sip.transfer import TransferResult
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.handoff import validate
from appliance.workflows.handoff_store import HandoffStore
from appliance.workflows.kb import load_kb
from appliance.workflows.understander import Understander
from tests.fakes import FakeCall, FakeClock, FakeStt, session_deps

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=TZ)


class Asked:
    """The model behind the understander: says `intent` whenever it is asked (only where
    the rules are unsure) and keeps the lines it was asked about."""

    def __init__(self, intent: str = "other") -> None:
        self.intent = intent
        self.lines: list[str] = []

    async def complete_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], mode: str, max_tokens: int
    ) -> str:
        self.lines.append(messages[-1].content)
        return json.dumps({"intent": self.intent})


class TransferringCall(FakeCall):
    """A call whose transfer rings for `ring_s` (virtual) and then ends with `status`."""

    def __init__(self, *args: Any, status: int, ring_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status, self.ring_s = status, ring_s
        self.transfers: list[tuple[str, dict[str, str]]] = []
        self.played_before_answer = 0  # chunks queued while the desk rang

    async def transfer(self, uri: str, headers: dict[str, str] | None = None, within: float = 20):
        self.transfers.append((uri, dict(headers or {})))
        await self._clock.sleep(self.ring_s)
        self.played_before_answer = len(self.played)
        ok = 200 <= self.status < 300
        if ok:
            self.hung_up = True
        return TransferResult(ok, self.status, "answered" if ok else "refused")


@pytest.fixture
def db(tmp_path: Path):
    database = Database.open(tmp_path / "calls.db", "ab" * 32, MIGRATIONS)
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


class ClockedAgent:
    """The real ClinicAgent, with virtual time held while the schedule's thread works."""

    def __init__(self, inner: ClinicAgent, clock: FakeClock) -> None:
        self._inner, self._clock = inner, clock

    def respond(self, turn: AgentTurn) -> AgentReply:
        inner = self._inner.respond(turn)
        outer = AgentReply(text=inner.text)
        outer.text = self._held(inner, outer)
        return outer

    async def _held(self, inner: AgentReply, outer: AgentReply) -> AsyncIterator[str]:
        with self._clock.busy():
            chunks = [c async for c in inner.text]
        outer.directive, outer.actions = inner.directive, inner.actions
        outer.intent, outer.reprompt = inner.intent, inner.reprompt
        for chunk in chunks:
            yield chunk

    async def hand_off(self, call_id: CallId, reason: str) -> Handoff:
        with self._clock.busy():
            return await self._inner.hand_off(call_id, reason)

    async def transfer_result(self, outcome: str) -> str | None:
        with self._clock.busy():
            return await self._inner.transfer_result(outcome)


def chat(db: Database, clock: FakeClock, model: Asked | None = None) -> ClockedAgent:
    schedule = BuiltinSchedule(db, TZ, now=lambda: NOW)
    engine = WorkflowEngine(schedule, load_kb(ASSETS / "kb.toml"), TZ, clock=lambda: NOW)
    understander = Understander(LlmIntents(model or Asked()), "tie")
    inner = ClinicAgent(understander, engine, HandoffStore(db))
    return ClockedAgent(inner, clock)


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
    model = Asked("cancel")  # would derail the booking, if it were asked
    repo = CallRepository(db)
    deps, _ = await session_deps(clock, repo, FakeStt(clock, lines), None)
    deps = dataclasses.replace(deps, agent=chat(db, clock, model))
    call = FakeCall(clock, answers=len(lines))
    outcome = await clock.run(CallSession(call, deps).run())
    assert outcome == "completed"
    booked = await BuiltinSchedule(db, TZ, now=lambda: NOW).upcoming("p1")
    assert [a.start for a in booked] == [datetime(2026, 11, 27, 8, 0, tzinfo=TZ)]
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert any(
        "You're booked for Friday, November 27 at 8:00 AM with Dr Amanda Lee" in s for s in said
    )
    assert model.lines == []  # every line was clear to the rules
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    intents = [code for kind, code in events if kind == "intent"]
    assert intents == ["book", "inform", "inform", "inform", "inform"]  # then goodbye: code
    booked_at = events.index(("workflow-book", "ok"))
    assert events[booked_at - 1] == ("intent", "inform")  # the turn's intent, then its actions


async def test_re_asks_are_recorded_as_codes_and_counted_as_re_prompts(db: Database) -> None:
    clock = FakeClock()
    lines = [
        "I'd like to book an appointment.",
        "Purple elephants dance on Tuesdays.",  # no name, no birth date: asked again
        "My name is Maria Gonzalez, born April 12th, 1980.",
        "Friday please.",
        "The first one.",
        "Hmm, the weather is lovely.",  # to "Shall I book it?": yes or no?
        "Yes please.",
        "No, that's all, goodbye.",
    ]
    repo = CallRepository(db)
    deps, _ = await session_deps(clock, repo, FakeStt(clock, lines), None)
    deps = dataclasses.replace(deps, agent=chat(db, clock, Asked("other")))
    outcome = await clock.run(CallSession(FakeCall(clock, answers=len(lines)), deps).run())
    assert outcome == "completed"
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert [c for k, c in events if k == "asked-again"] == ["identity", "yes-or-no"]
    assert ("workflow-book", "ok") in events  # the re-asks did not derail the booking
    assert score_pending(db) == 1
    [proxy] = [r for r in scores_since(db, 0) if r.evaluator == "proxy-signals"]
    assert proxy.reason == "low-confidence:0,reprompts:2,corrections:0"
    assert proxy.verdict == "unsure"
    for kind, code in events:  # codes only: none of the caller's words
        assert code is None or not any(w in code.lower() for w in ("purple", "weather", "maria"))


class CountingStt(FakeStt):
    """FakeStt whose transcripts carry a low-word count ([stt] word_confidence on)."""

    def __init__(self, clock: FakeClock, lines: list[str], counts: list[int]) -> None:
        super().__init__(clock, lines)
        self.counts = counts

    async def transcribe(self, utterance: Utterance) -> Transcript:
        said = await super().transcribe(utterance)
        return dataclasses.replace(said, low_words=self.counts.pop(0) if self.counts else 0)


async def test_counted_low_words_are_stored_with_the_turn_and_scored(db: Database) -> None:
    clock = FakeClock()
    lines = ["What are your opening hours?", "No, that's all, goodbye."]
    repo = CallRepository(db)
    deps, _ = await session_deps(clock, repo, CountingStt(clock, lines, [3, 1]), None)
    deps = dataclasses.replace(deps, agent=chat(db, clock))
    outcome = await clock.run(CallSession(FakeCall(clock, answers=len(lines)), deps).run())
    assert outcome == "completed"
    caller = [t for t in repo.turns("fake-call") if t.speaker == "caller"]
    assert [t.timings.get(LOW_WORDS) for t in caller] == [3.0, 1.0]
    score_pending(db)
    [proxy] = [r for r in scores_since(db, 0) if r.evaluator == "proxy-signals"]
    assert proxy.reason == "low-confidence:0,reprompts:0,corrections:0,low-words:4"


async def test_an_emergency_ends_the_call(db: Database) -> None:
    clock = FakeClock()
    repo = CallRepository(db)
    stt = FakeStt(clock, ["My husband has chest pain"])
    deps, _ = await session_deps(clock, repo, stt, None)
    model = Asked("clinic_info")
    deps = dataclasses.replace(deps, agent=chat(db, clock, model))
    call = FakeCall(clock, answers=1)
    outcome = await clock.run(CallSession(call, deps).run())
    assert outcome == "completed" and call.hung_up
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert "dial 911" in said[-1] and model.lines == []


async def test_a_request_for_a_person_is_handed_over_with_the_packet(db: Database) -> None:
    clock = FakeClock()
    repo = CallRepository(db)
    stt = FakeStt(clock, ["Can I talk to a real person?"])
    deps, _ = await session_deps(clock, repo, stt, None)
    deps = dataclasses.replace(
        deps, agent=chat(db, clock), transfer=TransferPolicy("sip:desk@127.0.0.1")
    )
    call = TransferringCall(clock, answers=1, status=200)
    before = transfers("success")
    outcome = await clock.run(CallSession(call, deps).run())
    assert outcome == "completed" and transfers("success") == before + 1
    [(uri, headers)] = call.transfers
    [stored] = HandoffStore(db).packets("fake-call")
    packet = json.loads(stored.packet)
    validate(packet)
    assert uri == "sip:desk@127.0.0.1" and stored.outcome == "success"
    assert headers == {
        "X-Appliance-Call": "fake-call",
        "X-Appliance-Reason": "caller-request",
        "X-Appliance-Handoff": packet["handoff_id"],
        "X-Appliance-Summary": "reason=caller-request; intent=speak_to_person; stage=idle",
    }
    assert packet["actions"] == [{"action": "transfer", "outcome": "caller-request"}]
    # the cached hold prompt was playing while the desk rang
    hold = deps.cache.get(Prompt.HOLD)
    assert hold and call.played[call.played_before_answer - len(hold) :][: len(hold)] == hold
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert ("transfer-requested", "caller-request") in events
    assert ("transfer-ok", "answered") in events
    assert events.index(("intent", "speak_to_person")) < events.index(
        ("workflow-transfer", "caller-request")
    )


async def test_a_busy_desk_leaves_the_caller_with_the_agent_who_takes_a_message(
    db: Database,
) -> None:
    clock = FakeClock()
    repo = CallRepository(db)
    lines = [
        "I'd like to book an appointment.",
        "My name is Maria Gonzalez, born April 12th, 1980.",
        "Actually, can I talk to a real person?",
        "Yes please, call me back at 555 0142 about my appointment.",
        "No, that's all, goodbye.",
    ]
    deps, _ = await session_deps(clock, repo, FakeStt(clock, lines), None)
    deps = dataclasses.replace(
        deps, agent=chat(db, clock), transfer=TransferPolicy("sip:desk@127.0.0.1")
    )
    call = TransferringCall(clock, answers=len(lines), status=486)
    busy, messages = transfers("busy"), MESSAGES.labels(kind="callback")._value.get()
    outcome = await clock.run(CallSession(call, deps).run())
    assert outcome == "completed" and transfers("busy") == busy + 1
    store = HandoffStore(db)
    [stored] = store.packets("fake-call")
    packet = json.loads(stored.packet)
    assert stored.outcome == "busy" and packet["intent"] == "book"
    assert packet["stage"] == "choose-day"
    assert packet["caller"]["name"] == "Maria Gonzalez" and packet["caller"]["identified"]
    [message] = store.messages("fake-call")
    assert (message.kind, message.reason) == ("callback", "busy")
    assert message.callback_number == "5550142"
    assert message.handoff_id == packet["handoff_id"] and "about my appointment" in message.body
    assert MESSAGES.labels(kind="callback")._value.get() == messages + 1
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    offer = next(i for i, s in enumerate(said) if "the front desk is busy" in s)
    assert "leave a message" in said[offer] and "passed your message" in said[offer + 1]
    assert not call.hung_up or said[-1].startswith("Thank you for calling")

"""Post-call scoring on the real SQLCipher store: calls placed through the real session
and clinic agent (virtual time, scripted speech), as the session records them; then the
scorer, the background job, immutable rows, re-scoring, the retention purge, the CLI and
a PHI canary."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from appliance.conversation.session import CallSession, TransferPolicy
from appliance.domain import CallId
from appliance.errors import ApplianceError
from appliance.governance.retention import RetentionPolicy, purge
from appliance.quality.evaluators import DEFAULT_EVALUATORS
from appliance.quality.schema import SCORES_MIGRATION, SCORES_VERSION
from appliance.quality.scorer import (
    rescore,
    score_call,
    score_ended_calls,
    scores_since,
    unscored_calls,
)
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.store.migrations import Migration
from tests.fakes import FakeCall, FakeClock, FakeStt, session_deps
from tests.unit.test_session_workflows import ASSETS, TransferringCall, chat

pytestmark = pytest.mark.unit

BOOKING = [
    "I'd like to book an appointment.",
    "My name is Maria Gonzalez, born April 12th, 1980.",
    "Friday please.",
    "The first one.",
    "Yes please.",
    "No, that's all, goodbye.",
]
CANARY = ("Maria", "Gonzalez", "1980", "April", "Amanda", "November", "+1555", "5550100001")


def scored_migrations() -> list[Migration]:
    """The application's migrations, the scores' among them."""
    assert SCORES_MIGRATION in MIGRATIONS
    return list(MIGRATIONS)


@pytest.fixture
def db(tmp_path: Path):
    database = Database.open(tmp_path / "calls.db", "ab" * 32, scored_migrations())
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


async def place(db: Database, call_id: str, lines: list[str], **kwargs: object) -> str:
    """One call through the real session and clinic agent; its outcome."""
    clock = FakeClock()
    repo = CallRepository(db)
    deps, _ = await session_deps(clock, repo, FakeStt(clock, lines), None)
    deps = dataclasses.replace(deps, agent=chat(db, clock))
    desk = kwargs.pop("desk", None)
    if desk is not None:
        deps = dataclasses.replace(deps, transfer=TransferPolicy("sip:desk@127.0.0.1"))
        call: FakeCall = TransferringCall(clock, answers=len(lines), status=desk, **kwargs)
    else:
        call = FakeCall(clock, answers=len(lines), **kwargs)  # type: ignore[arg-type]
    call.call_id = CallId(call_id)
    return await clock.run(CallSession(call, deps).run())


def verdicts(db: Database, call_id: str) -> dict[str, tuple[str, str]]:
    rows = [r for r in scores_since(db, 0) if r.call_id == call_id]
    return {r.evaluator: (r.verdict, r.reason) for r in rows}


async def test_every_kind_of_call_is_scored_with_the_expected_verdicts(db: Database) -> None:
    assert await place(db, "booked", BOOKING) == "completed"
    await place(db, "faq", ["What are your opening hours?", "Goodbye."])
    await place(db, "emergency", ["My husband has chest pain"])
    await place(db, "person", ["Can I talk to a real person?"], desk=200)
    await place(db, "busy-desk", ["Can I talk to a real person?", "No thanks, bye."], desk=486)
    await place(db, "hung-up", [], hangup_at=1.0)
    assert sorted(unscored_calls(db)) == sorted(
        ["booked", "faq", "emergency", "person", "busy-desk", "hung-up"]
    )
    stop = asyncio.Event()
    job = asyncio.create_task(score_ended_calls(db, stop, every_s=0.05))
    for _ in range(200):
        if not unscored_calls(db):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(job, 5)
    assert unscored_calls(db) == []
    booked = verdicts(db, "booked")
    assert len(booked) == len(DEFAULT_EVALUATORS)
    assert booked["ai-disclosure-within-10s"] == ("pass", "disclosure-in-time")
    assert booked["identity-before-phi"] == ("pass", "identity-first")
    assert booked["task-completion"] == ("pass", "in-schedule")
    assert booked["transfer-outcome"][0] == "n/a"
    assert booked["dead-air"][0] == "pass"
    assert verdicts(db, "faq")["identity-before-phi"][0] == "n/a"
    assert verdicts(db, "emergency")["escalation-appropriateness"] == (
        "pass",
        "escalated:emergency",
    )
    person = verdicts(db, "person")
    assert person["escalation-appropriateness"] == ("pass", "escalated:caller-request")
    assert person["transfer-outcome"][0] == "pass"
    assert verdicts(db, "busy-desk")["transfer-outcome"][0] == "fail"
    assert verdicts(db, "hung-up")["ai-disclosure-within-10s"] == ("fail", "disclosure-cut")


async def test_rows_are_immutable_rescoring_adds_rows_and_the_purge_takes_them(
    db: Database,
) -> None:
    await place(db, "booked", BOOKING)
    first = score_call(db, "booked")
    assert len(first) == len(DEFAULT_EVALUATORS) and unscored_calls(db) == []
    for sql in (
        "UPDATE call_scores SET verdict = 'pass'",
        "UPDATE call_scores SET reason = 'x' WHERE id = 1",
        "DELETE FROM call_scores",
    ):
        with pytest.raises(ApplianceError):
            db.execute(lambda conn, q=sql: conn.execute(q))
    again = rescore(db, "booked")
    assert {r.id for r in again}.isdisjoint({r.id for r in first})
    rows = scores_since(db, 0)
    assert len(rows) == 2 * len(DEFAULT_EVALUATORS)
    assert [r.verdict for r in rows[: len(first)]] == [r.verdict for r in first]  # unchanged
    policy = RetentionPolicy(1, 1, 1, 1, 365)
    report = purge(db, policy, now=first[0].scored_at + 3 * 86400, clock_checked=True)
    assert report.counts["call"] == 1
    assert scores_since(db, 0) == []


async def test_open_and_unknown_calls_are_not_scored(db: Database) -> None:
    repo = CallRepository(db)
    await repo.start_call("open", 1000.0, "PCMU", "k")
    with pytest.raises(ApplianceError) as exc:
        score_call(db, "open")
    assert exc.value.code == "quality-call-open"
    with pytest.raises(ApplianceError) as exc:
        score_call(db, "nobody")
    assert exc.value.code == "quality-unknown-call"
    assert unscored_calls(db) == []


async def test_no_score_row_holds_the_callers_words_or_identity(db: Database) -> None:
    await place(db, "booked", BOOKING)
    score_call(db, "booked")
    dump = json.dumps(
        db.query(lambda conn: [list(r) for r in conn.execute("SELECT * FROM call_scores")])
    )
    assert "turn:" in dump and "event:" in dump  # evidence is ids
    for canary in CANARY:
        assert canary.lower() not in dump.lower(), canary


async def test_the_cli_prints_the_scores_as_json_without_phi(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    from appliance.cli.quality import parse_since, run_rescore, run_scores

    await place(db, "booked", BOOKING)
    score_call(db, "booked")
    assert run_scores(db, "24h", as_json=True) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(DEFAULT_EVALUATORS)
    assert {r["evaluator"] for r in rows} == {e.name for e in DEFAULT_EVALUATORS}
    assert set(rows[0]) == {
        "id", "call_id", "evaluator", "evaluator_version", "verdict", "score", "reason",
        "evidence", "scored_at",
    }  # fmt: skip
    assert run_rescore(db, "booked") == 0
    table = capsys.readouterr().out
    assert "task-completion" in table and "in-schedule" in table
    for canary in CANARY:
        assert canary not in table
    assert parse_since("30m", 10_000.0) == 10_000.0 - 1800
    with pytest.raises(ApplianceError):
        parse_since("yesterday", 0.0)


def test_the_cli_says_when_the_store_has_no_scores(tmp_path: Path) -> None:
    from appliance.cli.quality import run_scores

    before = [m for m in MIGRATIONS if m.number < SCORES_VERSION]  # a store not yet migrated
    plain = Database.open(tmp_path / "plain.db", "ab" * 32, before)
    try:
        with pytest.raises(ApplianceError) as exc:
            run_scores(plain, "24h", as_json=True)
        assert exc.value.code == "quality-not-installed"
    finally:
        plain.close()


async def test_the_session_records_what_the_scorer_checks(db: Database) -> None:
    """The events this part added: which appointment a booking made (and the booking
    carries its call), and the emergency instruction."""
    await place(db, "booked", BOOKING)
    await place(db, "emergency", ["My husband has chest pain"])
    repo = CallRepository(db)
    [ref] = [e.code for e in repo.events("booked") if e.kind == "appointment"]
    assert ref is not None and ref.startswith("book:")
    row = db.query(
        lambda conn: conn.execute(
            "SELECT status, call_id FROM appointments WHERE id = ?", (ref.split(":")[1],)
        ).fetchone()
    )
    assert tuple(row) == ("booked", "booked")
    kinds = [(e.kind, e.code) for e in repo.events("emergency")]
    assert ("workflow-emergency", "instructed") in kinds


async def test_the_job_stops_when_asked(db: Database) -> None:
    from appliance.quality.scorer import scoring_job

    await place(db, "faq", ["What are your opening hours?", "Goodbye."])
    stop = asyncio.Event()
    job = asyncio.create_task(scoring_job(db, stop))
    for _ in range(100):
        if not unscored_calls(db):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(job, 5)
    assert len(scores_since(db, 0)) == len(DEFAULT_EVALUATORS)

"""The LLM judge on the real SQLCipher store, its model a fake at the JudgeModel seam:
calls placed through the real session and clinic agent, judged after the deterministic
scores; verdict rows hold codes and turn ids only; unsure goes to the review queue,
where a reviewer's decision is made once and audited; no LLM configured: no judge."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from appliance.config import load_settings
from appliance.domain import ChatMessage
from appliance.errors import ApplianceError, ChatModelError
from appliance.governance.retention import RetentionPolicy, purge
from appliance.llm.judge_model import judge_model_from_settings
from appliance.quality import judge as j
from appliance.quality.judge_job import judge_call, judge_pending
from appliance.quality.result import Result
from appliance.quality.review import decide, queue
from appliance.quality.scorer import score_call, score_ended_calls, scores_since
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Connection, Database
from tests.unit.test_quality_store import BOOKING, CANARY, place
from tests.unit.test_session_workflows import ASSETS

pytestmark = pytest.mark.unit

ANSWER = {
    "goal_met": "yes",
    "goal_turn": 0,
    "sentiment_start": "neutral",
    "sentiment_end": "positive",
}


def reply(answer: dict[str, Any], messages: Sequence[ChatMessage]) -> str:
    """`answer` (all three criteria) as the model would give it to one question."""
    asked = messages[1].content
    if asked.startswith("The call:"):
        return json.dumps({"goal": answer["goal_met"], "turn": answer["goal_turn"]})
    if asked.startswith("The caller's first line"):
        return json.dumps({"mood": answer["sentiment_start"]})
    return json.dumps({"mood": answer["sentiment_end"]})


class FakeJudge:
    """Answers each question from `answer` (all criteria; or raw text to every question),
    keeping what it was asked."""

    def __init__(self, answer: Any = ANSWER, name: str = "fake-judge") -> None:
        self.answer = answer
        self.name = name
        self.asked: list[list[ChatMessage]] = []
        self.fail: ChatModelError | None = None

    @property
    def model_name(self) -> str:
        return self.name

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
        goal = messages[1].content.startswith("The call:")
        assert schema == (j.GOAL_SCHEMA if goal else j.MOOD_SCHEMA)
        assert messages[0].content == j.PROMPT  # one fixed prefix for every question
        self.asked.append(list(messages))
        if self.fail is not None:
            raise self.fail
        return self.answer if isinstance(self.answer, str) else reply(self.answer, messages)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.db", "ab" * 32, list(MIGRATIONS))
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


def run_sql(conn: Connection, sql: str) -> None:
    conn.execute(sql)


def lines(*pairs: tuple[str, str]) -> list[j.Line]:
    return [j.Line(i, speaker, text) for i, (speaker, text) in enumerate(pairs)]


CALL = lines(("agent", "Hello, I'm the clinic's virtual assistant."), ("caller", "Book me in"),
             ("agent", "You're booked."), ("caller", "Thanks, bye"))  # fmt: skip


def test_the_answer_becomes_verdicts_scores_codes_and_turn_ids() -> None:
    got = j.judge(FakeJudge({**ANSWER, "goal_turn": 2, "sentiment_start": "negative"}), CALL)
    assert got[j.GOAL] == Result("pass", "goal-met", 1.0, ("turn:2",))
    assert got[j.SENTIMENT_START] == Result("fail", "sentiment-negative", 0.0, ("turn:1",))
    assert got[j.SENTIMENT_END] == Result("pass", "sentiment-positive", 1.0, ("turn:3",))
    unclear = {"goal_met": "unclear", "goal_turn": 99, "sentiment_start": "unclear",
               "sentiment_end": "neutral"}  # fmt: skip
    got = j.judge(FakeJudge(unclear), CALL)
    assert got[j.GOAL] == Result("unsure", "goal-unclear", 0.5, ())  # no such turn: none
    assert got[j.SENTIMENT_START].verdict == "unsure"
    assert got[j.SENTIMENT_END] == Result("pass", "sentiment-neutral", 0.5, ("turn:3",))


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        json.dumps({"goal": "maybe", "turn": 1, "mood": "the caller said thanks"}),
        json.dumps({"goal": "yes", "turn": "2", "mood": "happy"}),
        json.dumps({"goal": "yes", "turn": True}),
        json.dumps({"goal": "yes", "turn": 1, "mood": "neutral", "note": "words"}),
        json.dumps({"turn": 1}),
    ],
)
def test_anything_but_the_schema_is_bad_output_unsure(raw: str) -> None:
    got = j.judge(FakeJudge(raw), CALL)
    assert set(got.values()) == {j.BAD_OUTPUT}


def test_each_criterion_is_its_own_question_a_bad_answer_spoils_only_its_own() -> None:
    model = FakeJudge()
    j.judge(model, CALL)
    asked = [m[1].content for m in model.asked]
    assert len(asked) == 3 and "[2] agent: You're booked." in asked[0]
    assert asked[1].startswith('The caller\'s first line: "Book me in"')
    assert asked[2].startswith('The caller\'s last line: "Thanks, bye"')
    assert "Book me in" not in asked[2]  # a mood is judged on its own line only

    class MoodOnlyBad(FakeJudge):
        def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
            good = super().complete_json(messages, schema)
            return "{}" if messages[1].content.startswith("The caller's last") else good

    got = j.judge(MoodOnlyBad(), CALL)
    assert got[j.SENTIMENT_END] == j.BAD_OUTPUT and got[j.GOAL].verdict == "pass"
    assert got[j.SENTIMENT_START].verdict == "pass"


def test_no_caller_speech_is_not_applicable_without_asking() -> None:
    model = FakeJudge()
    got = j.judge(model, lines(("agent", "Hello?")))
    assert {r.verdict for r in got.values()} == {"n/a"} and model.asked == []


def test_the_version_is_a_hash_of_prompt_schema_and_model() -> None:
    assert j.judge_version("a") == j.judge_version("a")
    assert j.judge_version("a") != j.judge_version("b")
    before = j.judge_version("a")
    for name, edited in (("PROMPT", j.PROMPT + " "), ("GOAL_QUESTION", j.GOAL_QUESTION + " "),
                         ("MOOD_QUESTION", j.MOOD_QUESTION + " ")):  # fmt: skip
        saved = getattr(j, name)
        setattr(j, name, edited)
        try:
            assert j.judge_version("a") != before, name
        finally:
            setattr(j, name, saved)
    assert j.judge_version("a") == before
    assert len(j.judge_version("a")) == 16
    assert j.CRITERIA == ("judge-goal-met", "judge-sentiment-start", "judge-sentiment-end")


async def test_judged_after_the_deterministic_scores_words_in_memory_only(db: Database) -> None:
    await place(db, "booked", BOOKING)
    model = FakeJudge({**ANSWER, "goal_turn": 3})
    assert judge_pending(db, model) == 0  # not yet scored by the rules: not judged
    score_call(db, "booked")
    assert judge_pending(db, model) == 1
    asked = model.asked[0][1].content  # the transcript, decrypted, given to the model
    assert "Maria Gonzalez" in asked and "] caller: " in asked and "] agent: " in asked
    rows = [r for r in scores_since(db, 0) if r.evaluator.startswith("judge-")]
    assert {r.evaluator: r.verdict for r in rows} == {
        j.GOAL: "pass",
        j.SENTIMENT_START: "pass",
        j.SENTIMENT_END: "pass",
    }
    assert {r.evaluator_version for r in rows} == {j.judge_version("fake-judge")}
    assert judge_pending(db, model) == 0  # judged once per version
    assert judge_pending(db, FakeJudge(name="another-model")) == 1  # a new version
    dump = json.dumps(db.query(lambda c: [list(r) for r in c.execute("SELECT * FROM call_scores")]))
    for canary in CANARY:
        assert canary.lower() not in dump.lower(), canary
    assert queue(db) == []  # nothing unsure


async def test_unsure_goes_to_the_queue_and_a_decision_is_made_once_and_audited(
    db: Database,
) -> None:
    await place(db, "booked", BOOKING)
    score_call(db, "booked")
    unclear = {**ANSWER, "goal_met": "unclear", "sentiment_end": "unclear"}
    judge_call(db, "booked", FakeJudge(unclear))
    waiting = queue(db)
    assert [i.evaluator for i in waiting] == [j.GOAL, j.SENTIMENT_END]
    assert {i.verdict for i in waiting} == {"unsure"} and waiting[0].decision is None
    first, second = waiting
    done = decide(db, first.score_id, "rita", now=5000.0)
    assert (done.decision, done.final_verdict, done.reviewer, done.decided_at) == (
        "agree",
        "unsure",
        "rita",
        5000.0,
    )
    done = decide(db, second.score_id, "sam", "fail")
    assert (done.decision, done.final_verdict) == ("override", "fail")
    assert queue(db) == [] and len(queue(db, open_only=False)) == 2
    for args, code in (
        ((first.score_id, "sam", "pass"), "quality-review-decided"),
        ((424242, "sam"), "quality-review-unknown"),
        ((second.score_id, "  "), "quality-review-no-reviewer"),
        ((second.score_id, "sam", "unsure"), "quality-review-bad-verdict"),
    ):
        with pytest.raises(ApplianceError) as exc:
            decide(db, *args)
        assert exc.value.code == code
    for sql in ("UPDATE score_reviews SET verdict = 'pass'", "DELETE FROM score_reviews"):
        with pytest.raises(ApplianceError):  # the table refuses a second decision, a delete
            db.execute(run_sql, sql)
    audit = db.query(
        lambda c: c.execute(
            "SELECT actor, actor_role, action, object_id, reason_code, call_id FROM audit"
            " WHERE action = 'quality.review' ORDER BY seq"
        ).fetchall()
    )
    assert [tuple(r) for r in audit] == [
        ("rita", "quality-reviewer", "quality.review", str(first.score_id), "agree:unsure",
         "booked"),
        ("sam", "quality-reviewer", "quality.review", str(second.score_id), "override:fail",
         "booked"),
    ]  # fmt: skip
    policy = RetentionPolicy(1, 1, 1, 1, 365)  # the queue goes with its call
    purge(db, policy, now=waiting[0].queued_at + 3 * 86400, clock_checked=True)
    assert queue(db, open_only=False) == []


async def test_no_judge_while_a_call_is_live_or_when_the_model_fails(db: Database) -> None:
    await place(db, "booked", BOOKING)
    score_call(db, "booked")
    repo = CallRepository(db)
    await repo.start_call("live", 10_000.0, "PCMU", "k")
    model = FakeJudge()
    assert judge_pending(db, model, now=lambda: 10_060.0) == 0 and model.asked == []
    assert judge_pending(db, model, now=lambda: 10_000.0 + 7200) == 1  # a stale open call
    broken = FakeJudge(name="down")
    broken.fail = ChatModelError("llm-unreachable", "down")
    assert judge_pending(db, broken, now=lambda: 20_000.0) == 0  # left for a later pass
    assert not [r for r in scores_since(db, 0) if r.evaluator_version == j.judge_version("down")]


async def test_the_job_judges_after_scoring_and_records_nothing_without_a_judge(
    db: Database,
) -> None:
    await place(db, "faq", ["What are your opening hours?", "Goodbye."])

    async def run(judge: FakeJudge | None) -> None:
        stop = asyncio.Event()
        job = asyncio.create_task(score_ended_calls(db, stop, every_s=0.05, judge=judge))
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(job, 5)

    await run(None)
    names = {r.evaluator for r in scores_since(db, 0)}
    assert names and not any(n.startswith("judge-") for n in names)
    await run(FakeJudge())
    assert {r.evaluator for r in scores_since(db, 0)} >= set(j.CRITERIA)


def test_the_cpu_default_configures_no_judge_an_llm_configures_one() -> None:
    settings = load_settings(None)
    assert not settings.llm_used
    assert judge_model_from_settings(settings, "key") is None
    workflows = msgspec.structs.replace(settings.workflows, llm_intents="tie")
    judged = judge_model_from_settings(msgspec.structs.replace(settings, workflows=workflows), "k")
    assert judged is not None and judged.model_name == settings.llm.server.model


async def test_a_purged_transcript_is_not_applicable_and_never_sent(db: Database) -> None:
    await place(db, "booked", BOOKING)
    score_call(db, "booked")
    db.execute(lambda c: c.execute("UPDATE turns SET purged_at = 1.0 WHERE seq = 1"))
    model = FakeJudge()
    got = judge_call(db, "booked", model)
    assert {r.reason for r in got.values()} == {"transcript-purged"} and model.asked == []
    assert {r.verdict for r in got.values()} == {"n/a"} and queue(db) == []


async def test_the_queue_cli_lists_and_decides(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from appliance.cli.quality import run_queue

    await place(db, "booked", BOOKING)
    score_call(db, "booked")
    judge_call(db, "booked", FakeJudge({**ANSWER, "goal_met": "unclear"}))
    (item,) = queue(db)
    run_queue(db, argparse.Namespace(queue_command="list", all=False, json=True))
    listed = json.loads(capsys.readouterr().out)
    assert [i["score_id"] for i in listed] == [item.score_id]
    ns = argparse.Namespace(
        queue_command="decide", score_id=item.score_id, reviewer="rita", override="pass"
    )
    run_queue(db, ns)
    out = capsys.readouterr().out
    assert "override:pass by rita" in out and "goal-unclear" in out
    for canary in CANARY:
        assert canary.lower() not in (out + json.dumps(listed)).lower()


def test_the_queue_commands_parse_and_refuse_with_a_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from appliance.cli.main import main
    from appliance.store.bootstrap import open_database
    from tests.conftest import store_config

    config = store_config(tmp_path)
    open_database(load_settings(config), MIGRATIONS, create=True).close()
    base = ["--config", str(config), "quality", "queue"]
    assert main([*base, "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*base, "decide", "7", "--reviewer", "rita", "--agree"]) == 2
    assert "quality-review-unknown" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # agree or override, not both
        main([*base, "decide", "7", "--reviewer", "rita", "--agree", "--override", "pass"])

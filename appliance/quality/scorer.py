"""Scoring ended calls: each evaluator's result as one immutable call_scores row.

`score_call` scores one call (blocking); `rescore` is the explicit re-scoring (new rows,
never updates). `score_ended_calls` is the background job: every ended call without rows
for the current evaluator versions is scored, the store's reads and writes and the rules
on a thread of their own, so that the event loop (and any live call on it) never waits
on them. `scoring_job(db, stop)` is the coroutine a process supervisor starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from appliance.errors import ApplianceError, StoreError
from appliance.quality.evaluators import DEFAULT_EVALUATORS, Evaluator
from appliance.quality.facts import load_facts
from appliance.quality.judge import JudgeModel
from appliance.quality.judge_job import judge_pending
from appliance.store.db import Connection, Database

logger = logging.getLogger(__name__)
EVERY_S = 15.0  # s between passes of the background job
BATCH = 50  # calls scored per pass at most (the next pass takes the rest)


@dataclass(frozen=True, slots=True)
class ScoreRow:
    id: int
    call_id: str
    evaluator: str
    evaluator_version: str
    verdict: str
    score: float | None
    reason: str
    evidence: tuple[str, ...]
    scored_at: float  # UNIX s

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "call_id": self.call_id,
            "evaluator": self.evaluator,
            "evaluator_version": self.evaluator_version,
            "verdict": self.verdict,
            "score": self.score,
            "reason": self.reason,
            "evidence": list(self.evidence),
            "scored_at": self.scored_at,
        }


Row = tuple[str, str, str, str, float | None, str, str, float]


def score_call(
    db: Database,
    call_id: str,
    evaluators: Sequence[Evaluator] = DEFAULT_EVALUATORS,
    now: Callable[[], float] = time.time,
) -> list[ScoreRow]:
    """Score an ended call with every evaluator; the new rows (blocking).

    Raises StoreError quality-unknown-call / quality-call-open."""
    facts = db.query(load_facts, call_id)
    if facts is None:
        raise StoreError("quality-unknown-call", "no such call")
    if facts.ended_at is None:
        raise StoreError("quality-call-open", "the call has not ended")
    at = now()
    rows: list[Row] = []
    for evaluator in evaluators:
        result = evaluator.evaluate(facts)
        evidence = json.dumps(list(result.evidence))
        rows.append(
            (call_id, evaluator.name, evaluator.version, result.verdict, result.score,
             result.reason, evidence, at)
        )  # fmt: skip
    ids = db.execute(_insert, rows)
    return [_row((i, *r)) for i, r in zip(ids, rows, strict=True)]


def rescore(
    db: Database, call_id: str, evaluators: Sequence[Evaluator] = DEFAULT_EVALUATORS
) -> list[ScoreRow]:
    """Explicit re-scoring: new rows beside the old ones (which are never changed)."""
    return score_call(db, call_id, evaluators)


def unscored_calls(
    db: Database, evaluators: Sequence[Evaluator] = DEFAULT_EVALUATORS, limit: int = BATCH
) -> list[str]:
    """Ended calls lacking a row of some current evaluator version, oldest first."""
    pairs = [(e.name, e.version) for e in evaluators]
    return db.query(_unscored, pairs, limit)


def score_pending(db: Database, evaluators: Sequence[Evaluator] = DEFAULT_EVALUATORS) -> int:
    """One pass: score every unscored ended call (up to BATCH); how many (blocking).

    A call that cannot be scored is logged (code only) and left for the next pass."""
    scored = 0
    for call_id in unscored_calls(db, evaluators):
        try:
            score_call(db, call_id, _missing(db, call_id, evaluators))
        except ApplianceError as exc:
            logger.error("call not scored", extra={"call_id": call_id, "code": exc.code})
            continue
        scored += 1
    return scored


def _missing(db: Database, call_id: str, evaluators: Sequence[Evaluator]) -> list[Evaluator]:
    have = set(db.query(_versions, call_id))
    return [e for e in evaluators if (e.name, e.version) not in have]


async def score_ended_calls(
    db: Database,
    stop: asyncio.Event,
    every_s: float = EVERY_S,
    evaluators: Sequence[Evaluator] = DEFAULT_EVALUATORS,
    judge: JudgeModel | None = None,
) -> None:
    """Until `stop` is set: a pass (on the job's own thread, not the loop's default pool
    that STT and TTS use), then `every_s` of rest (or a full batch: at once). A failed
    pass is logged (code) and tried again after the rest. With a `judge`, each pass
    ends with the LLM judge's few calls (appliance/quality/judge_job.py); without one
    the judge records nothing."""
    with ThreadPoolExecutor(1, thread_name_prefix="scoring") as thread:
        while not stop.is_set():
            await _one_pass(db, evaluators, stop, every_s, thread, judge)


async def _one_pass(
    db: Database,
    evaluators: Sequence[Evaluator],
    stop: asyncio.Event,
    every_s: float,
    thread: ThreadPoolExecutor,
    judge: JudgeModel | None = None,
) -> None:
    """One pass, then the rest (none after a full batch: more are waiting)."""
    loop = asyncio.get_running_loop()
    try:
        scored = await loop.run_in_executor(thread, _pass, db, evaluators, judge)
    except ApplianceError as exc:
        logger.error("scoring pass failed", extra={"code": exc.code})
        scored = 0
    except Exception as exc:  # the job outlives a bad pass; the type only (no values)
        logger.error("scoring pass failed", extra={"code": type(exc).__name__})
        scored = 0
    if scored >= BATCH:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), every_s)


def _pass(db: Database, evaluators: Sequence[Evaluator], judge: JudgeModel | None) -> int:
    """The deterministic pass, then (with a judge and no full batch waiting) the judge's."""
    scored = score_pending(db, evaluators)
    if judge is not None and scored < BATCH:
        judge_pending(db, judge)
    return scored


def scoring_job(
    db: Database,
    stop: asyncio.Event,
    judge: JudgeModel | None = None,
    evaluators: Sequence[Evaluator] = DEFAULT_EVALUATORS,
) -> Coroutine[Any, Any, None]:
    """The background job a process supervisor starts (the admin unit, `appliance run`,
    with the configured thresholds: evaluators.evaluators_for); `judge` None: the LLM
    judge records nothing."""
    return score_ended_calls(db, stop, evaluators=evaluators, judge=judge)


def scores_since(db: Database, since: float, limit: int = 10_000) -> list[ScoreRow]:
    """Rows scored at or after `since` (UNIX s), oldest first (blocking)."""
    return [_row(r) for r in db.query(_select_since, since, limit)]


# --- SQL ---------------------------------------------------------------------------


def _insert(conn: Connection, rows: list[Row]) -> list[int]:
    ids: list[int] = []
    for row in rows:
        cursor = conn.execute(
            "INSERT INTO call_scores (call_id, evaluator, evaluator_version, verdict, score,"
            " reason, evidence, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        ids.append(int(cursor.lastrowid or 0))
    return ids


def _unscored(conn: Connection, pairs: list[tuple[str, str]], limit: int) -> list[str]:
    rows = conn.execute(
        "SELECT c.call_id FROM calls c WHERE c.ended_at IS NOT NULL AND"
        " (SELECT count(DISTINCT s.evaluator) FROM call_scores s"
        "  WHERE s.call_id = c.call_id AND (s.evaluator, s.evaluator_version) IN"
        "  (SELECT value ->> 0, value ->> 1 FROM json_each(?))) < ?"
        " ORDER BY c.ended_at, c.rowid LIMIT ?",
        (json.dumps(pairs), len(pairs), limit),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _versions(conn: Connection, call_id: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT DISTINCT evaluator, evaluator_version FROM call_scores WHERE call_id = ?",
        (call_id,),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _select_since(conn: Connection, since: float, limit: int) -> list[Any]:
    return conn.execute(
        "SELECT id, call_id, evaluator, evaluator_version, verdict, score, reason, evidence,"
        " scored_at FROM call_scores WHERE scored_at >= ? ORDER BY scored_at, id LIMIT ?",
        (since, limit),
    ).fetchall()


def _row(r: Any) -> ScoreRow:
    evidence = tuple(str(x) for x in json.loads(r[7]))
    return ScoreRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), r[5], str(r[6]),
                    evidence, float(r[8]))  # fmt: skip

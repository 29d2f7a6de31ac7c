"""The judge's part of the scoring job: after the deterministic evaluators, every ended
call without rows of the current judge version is judged (a few per pass), its rows
written with the `unsure` ones queued for review, in one transaction.

Without a configured LLM (`appliance.llm.judge_model.judge_model_from_settings` answers
None: the CPU default,
`[workflows] llm_intents = "never"`) the judge records nothing: no rows, no queue, and
the deterministic scores are unaffected. While a call is in progress the judge waits
(the local model serves live calls first); a model that fails (down, timeout) leaves the
call for a later pass, logged by code only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.errors import ApplianceError
from appliance.quality.judge import CRITERIA, JudgeModel, judge, judge_version, load_transcript
from appliance.quality.result import UNSURE, Result
from appliance.quality.review import enqueue
from appliance.store.db import Connection, Database

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)
JUDGE_BATCH = 5  # calls judged per pass at most (the model is slow on a CPU)
OPEN_CALL_WINDOW_S = 3600.0  # a call without an end older than this is not "live"


def judge_pending(
    db: Database, model: JudgeModel, limit: int = JUDGE_BATCH, now: Callable[[], float] = time.time
) -> int:
    """One pass: judge up to `limit` ended, deterministically scored calls; how many.

    Nothing while a call is in progress (the model is theirs first)."""
    if db.query(calls_in_progress, now() - OPEN_CALL_WINDOW_S):
        return 0
    version = judge_version(model.model_name)
    judged = 0
    for call_id in db.query(_unjudged, version, limit):
        try:
            judge_call(db, call_id, model, now)
        except ApplianceError as exc:
            logger.error("call not judged", extra={"call_id": call_id, "code": exc.code})
            continue
        judged += 1
    return judged


def judge_call(
    db: Database, call_id: str, model: JudgeModel, now: Callable[[], float] = time.time
) -> dict[str, Result]:
    """Judge one call and write its rows (unsure ones queued); the results by criterion.

    A transcript whose words were purged is n/a (`transcript-purged`)."""
    lines = db.query(load_transcript, call_id)
    if lines is None:
        results = {c: Result("n/a", "transcript-purged") for c in CRITERIA}
    else:
        results = judge(model, lines)
    db.execute(_write, call_id, judge_version(model.model_name), results, now())
    return results


def _write(
    conn: Connection, call_id: str, version: str, results: dict[str, Result], at: float
) -> None:
    for name, r in results.items():
        cursor = conn.execute(
            "INSERT INTO call_scores (call_id, evaluator, evaluator_version, verdict, score,"
            " reason, evidence, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (call_id, name, version, r.verdict, r.score, r.reason,
             json.dumps(list(r.evidence)), at),
        )  # fmt: skip
        if r.verdict == UNSURE:
            enqueue(conn, int(cursor.lastrowid or 0), call_id, at)


def calls_in_progress(conn: Connection, since: float) -> bool:
    """A call started since `since` has not ended."""
    row = conn.execute(
        "SELECT 1 FROM calls WHERE ended_at IS NULL AND started_at >= ? LIMIT 1", (since,)
    ).fetchone()
    return row is not None


def _unjudged(conn: Connection, version: str, limit: int) -> list[str]:
    """Ended calls with deterministic rows and no row of this judge version."""
    rows = conn.execute(
        "SELECT c.call_id FROM calls c WHERE c.ended_at IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM call_scores s WHERE s.call_id = c.call_id"
        "   AND s.evaluator NOT LIKE 'judge-%')"
        " AND NOT EXISTS (SELECT 1 FROM call_scores s WHERE s.call_id = c.call_id"
        "   AND s.evaluator LIKE 'judge-%' AND s.evaluator_version = ?)"
        " ORDER BY c.ended_at, c.rowid LIMIT ?",
        (version, limit),
    ).fetchall()
    return [str(r[0]) for r in rows]

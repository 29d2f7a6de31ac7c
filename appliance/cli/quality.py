"""`appliance quality scores | rescore | digest`: the post-call scores, no PHI (codes and
ids), and the governance digest of a window (counts, shares and codes only).

The store is opened with the application's migrations (appliance.services.app_db); a
store without the call_scores table says so with the code quality-not-installed.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from appliance.config import QualityCost, Settings
from appliance.errors import ApplianceError
from appliance.quality.digest import build_digest
from appliance.quality.digest_text import render_text
from appliance.quality.evaluators import DEFAULT_EVALUATORS, Evaluator, evaluators_for
from appliance.quality.review import OVERRIDE_VERDICTS, decide, queue
from appliance.quality.scorer import ScoreRow, rescore, scores_since
from appliance.store.db import Connection, Database

_SPAN = re.compile(r"^(\d+)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_quality(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    quality = sub.add_parser("quality", help="post-call scores of every ended call")
    qsub = quality.add_subparsers(dest="quality_command", required=True)
    scores = qsub.add_parser("scores", help="one row per evaluator result (no PHI)")
    scores.add_argument("--since", default="24h", help="e.g. 30m, 24h, 7d (default 24h)")
    scores.add_argument("--json", action="store_true", help="print JSON")
    again = qsub.add_parser("rescore", help="score a call again (new rows; old ones stay)")
    again.add_argument("call_id")
    digest = qsub.add_parser("digest", help="KPIs, verdicts and reasons of a window (no PHI)")
    digest.add_argument("--since", default="7d", help="e.g. 24h, 7d, 4w (default 7d)")
    digest.add_argument("--json", action="store_true", help="print JSON")
    digest.add_argument("--week", help="an ISO week, e.g. 2026-W49 (instead of --since)")
    digest.add_argument("--out", help="with --week: write digest-<week>.html and .pdf here")
    _add_queue(qsub)


def _add_queue(qsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    queue = qsub.add_parser("queue", help="the reviewer's queue of unsure judge verdicts")
    qq = queue.add_subparsers(dest="queue_command", required=True)
    listing = qq.add_parser("list", help="queued scores (ids and codes only)")
    listing.add_argument("--all", action="store_true", help="decided ones too")
    listing.add_argument("--json", action="store_true", help="print JSON")
    decide = qq.add_parser("decide", help="agree with the judge or override its verdict")
    decide.add_argument("score_id", type=int)
    decide.add_argument("--reviewer", required=True, help="the quality reviewer's user name")
    how = decide.add_mutually_exclusive_group(required=True)
    how.add_argument("--agree", action="store_true", help="the judge's verdict stands")
    how.add_argument("--override", choices=OVERRIDE_VERDICTS, help="the reviewer's verdict")


def parse_since(text: str, now: float) -> float:
    """'24h' -> UNIX s 24 hours before `now`; raises quality-bad-since."""
    match = _SPAN.match(text.strip())
    if match is None:
        raise ApplianceError("quality-bad-since", "--since takes a number and s, m, h, d or w")
    return now - int(match.group(1)) * _UNIT_S[match.group(2)]


def cmd_quality(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.services.app_db import MIGRATIONS
    from appliance.store.bootstrap import open_database

    db = open_database(settings, MIGRATIONS)
    try:
        if args.quality_command == "rescore":
            return run_rescore(db, args.call_id, evaluators_for(settings.quality))
        if args.quality_command == "queue":
            return run_queue(db, args)
        if args.quality_command == "digest" and args.week:
            return run_week(db, args.week, args.out, as_json=args.json, cost=settings.quality.cost)
        if args.quality_command == "digest":
            return run_digest(db, args.since, as_json=args.json, cost=settings.quality.cost)
        return run_scores(db, args.since, as_json=args.json)
    finally:
        db.close()


def run_scores(db: Database, since: str, *, as_json: bool) -> int:
    _require_scores(db)
    rows = scores_since(db, parse_since(since, time.time()))
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        _print(rows)
    return 0


def run_rescore(
    db: Database, call_id: str, evaluators: Sequence[Evaluator] = DEFAULT_EVALUATORS
) -> int:
    _require_scores(db)
    _print(rescore(db, call_id, evaluators))
    return 0


def run_digest(
    db: Database,
    since: str,
    *,
    as_json: bool,
    now: float | None = None,
    cost: QualityCost | None = None,
) -> int:
    """The digest of the calls that ended from `since` ago until now."""
    _require_scores(db)
    until = time.time() if now is None else now
    digest = db.query(build_digest, parse_since(since, until), until, cost)
    print(json.dumps(digest, indent=2) if as_json else render_text(digest))
    return 0


def run_week(
    db: Database, week: str, out: str | None, *, as_json: bool, cost: QualityCost | None = None
) -> int:
    """The digest of an ISO week: printed, or written as HTML and PDF into `out`."""
    from appliance.quality.digest_report import week_window, write_week

    _require_scores(db)
    digest = db.query(build_digest, *week_window(week), cost)
    if out:
        for path in write_week(digest, week.strip(), Path(out)):
            print(f"written: {path}")
    else:
        print(json.dumps(digest, indent=2) if as_json else render_text(digest))
    return 0


def run_queue(db: Database, args: argparse.Namespace) -> int:
    """`queue list` prints the queue; `queue decide` records a decision (audited)."""
    _require_scores(db)
    if args.queue_command == "decide":
        items = [decide(db, args.score_id, args.reviewer, args.override)]
    else:
        items = queue(db, open_only=not args.all)
    if getattr(args, "json", False):
        print(json.dumps([i.as_dict() for i in items], indent=2))
        return 0
    print(f"{'score':>7}  {'call id':32}  {'evaluator':24}  {'reason':20}  decision")
    for i in items:
        done = "" if i.decision is None else f"{i.decision}:{i.final_verdict} by {i.reviewer}"
        print(f"{i.score_id:>7}  {i.call_id:32}  {i.evaluator:24}  {i.reason:20}  {done}")
    return 0


def _print(rows: Sequence[ScoreRow]) -> None:
    print(f"{'scored (UTC)':20}  {'call id':32}  {'evaluator':28}  {'verdict':7}  score  reason")
    for r in rows:
        at = datetime.fromtimestamp(r.scored_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        score = "" if r.score is None else f"{r.score:.3g}"
        print(f"{at:20}  {r.call_id:32}  {r.evaluator:28}  {r.verdict:7}  {score:5}  {r.reason}")


def _require_scores(db: Database) -> None:
    if not db.query(_has_scores):
        raise ApplianceError("quality-not-installed", "this store has no call_scores table")


def _has_scores(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'call_scores'"
    ).fetchone()
    return row is not None

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

from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.quality.digest import build_digest
from appliance.quality.digest_text import render_text
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
            return run_rescore(db, args.call_id)
        if args.quality_command == "digest":
            return run_digest(db, args.since, as_json=args.json)
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


def run_rescore(db: Database, call_id: str) -> int:
    _require_scores(db)
    _print(rescore(db, call_id))
    return 0


def run_digest(db: Database, since: str, *, as_json: bool, now: float | None = None) -> int:
    """The digest of the calls that ended from `since` ago until now."""
    _require_scores(db)
    until = time.time() if now is None else now
    digest = db.query(build_digest, parse_since(since, until), until)
    print(json.dumps(digest, indent=2) if as_json else render_text(digest))
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

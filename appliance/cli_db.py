"""`appliance db calls`: recent calls from the encrypted store.

Transcript text (PHI) is printed only when asked for with --show-text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from appliance.config import Settings, read_or_create_secret
from appliance.store.calls import CallRepository
from appliance.store.db import Database


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def collect(repo: CallRepository, limit: int, show_text: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for call in repo.list_calls(limit):
        row: dict[str, Any] = {
            "call_id": call.call_id,
            "started": _iso(call.started_at),
            "ended": _iso(call.ended_at),
            "codec": call.codec,
            "outcome": call.outcome,
            "turns": call.turn_count,
        }
        if show_text:
            row["transcript"] = [
                {"speaker": t.speaker, "text": t.text, "timings": t.timings}
                for t in repo.turns(call.call_id)
            ]
        rows.append(row)
    return rows


def print_calls(settings: Settings, limit: int, *, show_text: bool, as_json: bool) -> int:
    key = read_or_create_secret(settings.path(settings.store.key_file))
    db = Database.open(settings.path(settings.store.db_file), key)
    try:
        rows = collect(CallRepository(db), limit, show_text)
    finally:
        db.close()
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'call id':32}  {'started (UTC)':25}  {'codec':6}  {'turns':>5}  outcome")
    for row in rows:
        print(
            f"{row['call_id']:32}  {row['started'] or '':25}  {row['codec'] or '':6}  "
            f"{row['turns']:>5}  {row['outcome'] or 'in progress'}"
        )
        for turn in row.get("transcript", []):
            print(f"    {turn['speaker']:>6}: {turn['text']}")
    return 0

"""`appliance db calls`: recent calls from the encrypted store.

Transcript text (PHI) is printed only when asked for with --show-text, and each call
shown that way is recorded in the audit log as a PHI read.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Any

from appliance.config import Settings
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditEvent, AuditLog
from appliance.store.bootstrap import open_database
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


def audit_phi_reads(db: Database, ids: list[str], object_type: str = "call") -> None:
    """Every transcript (or other PHI) shown is a PHI read: audited (who, which object)
    before it is shown."""
    log = AuditLog(db)
    actor = getpass.getuser()
    for object_id in ids:
        log.append(
            AuditEvent(
                actor=actor,
                actor_role="operator",
                action="phi.read",
                object_type=object_type,
                object_id=object_id,
                call_id=object_id if object_type == "call" else None,
                component="cli",
            )
        )


def print_calls(settings: Settings, limit: int, *, show_text: bool, as_json: bool) -> int:
    db = open_database(settings, MIGRATIONS)  # keys from systemd credentials or key files
    try:
        rows = collect(CallRepository(db), limit, show_text)
        if show_text:
            audit_phi_reads(db, [row["call_id"] for row in rows])
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

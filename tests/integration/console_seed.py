"""Calls for the console's screen tests, written through the store's own writers (the
call repository, the handoff store, the post-call scorer) on a real SQLCipher store.

The caller's words and the packet's name are canaries: a page or an audit record that
shows them outside the transcript view is a leak."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from appliance.quality.scorer import score_call
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.workflows.handoff_store import HandoffStore

CALLER_WORDS = "my name is Zelda Quasimodo and my knee hurts"
PACKET_NAME = "Zelda Quasimodo"
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Seeded:
    booked: str  # ended, outcome "completed", scored
    escalated: str  # ended, outcome "transferred", a handoff "caller-asked-human"
    open_call: str  # still in progress
    booked_day: str  # YYYY-MM-DD (UTC) of `booked`
    escalated_day: str


def day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


async def _call(repo: CallRepository, call_id: str, at: float, outcome: str | None) -> None:
    await repo.start_call(call_id, at, "PCMU", "hash-" + call_id)
    timings: dict[str, float | None] = {"stt": 0.21, "llm": 0.43, "tts": 0.12}
    await repo.add_turn(call_id, "caller", CALLER_WORDS, at + 1, at + 3, {}, 0.93)
    await repo.add_turn(call_id, "agent", "Thank you, one moment.", at + 3.5, at + 5, timings)
    await repo.add_event(call_id, "barge-in", "conversation", None, at + 4)
    if outcome is not None:
        await repo.end_call(call_id, at + 30, outcome)


async def _seed(db: Database, base: float) -> Seeded:
    repo = CallRepository(db)
    booked, escalated, open_call = "call-booked-1", "call-escalated-2", "call-open-3"
    await _call(repo, booked, base - 3 * DAY, "completed")
    await _call(repo, escalated, base - 1 * DAY, "transferred")
    await _call(repo, open_call, base - 600, None)
    packet = {
        "handoff_id": "handoff-2",
        "call_id": escalated,
        "reason": "caller-asked-human",
        "caller": {"name": PACKET_NAME, "date_of_birth": "1961-04-02"},
    }
    await HandoffStore(db).save_packet(packet, base - 1 * DAY + 20)
    return Seeded(booked, escalated, open_call, day(base - 3 * DAY), day(base - 1 * DAY))


def seed_calls(db: Database, base: float) -> Seeded:
    """Three calls before `base` (UNIX s, at or after the wall clock): the audit records
    the writers append keep their order. The ended ones are scored."""
    assert base >= time.time()
    seeded = asyncio.run(_seed(db, base))
    for call_id in (seeded.booked, seeded.escalated):
        score_call(db, call_id)
    return seeded

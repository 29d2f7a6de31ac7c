"""Running scenarios: each run one real SIP call to the running appliance, one after the
other (one pjsua2 endpoint per process), found afterwards in the appliance's store by
its start time and the caller's keyed hash, then judged (appliance/simulate/judge.py)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.simulate.caller import HESITATION, Caller, Voice, dial
from appliance.simulate.judge import Outcome, Run, SuiteResult, judge_run
from appliance.simulate.scenario import Scenario, Turn
from appliance.store.db import Connection, Database

RECORDED_S = 30.0  # how long the store may take to show the ended call


@dataclass(frozen=True, slots=True)
class Target:
    uri: str  # sip:clinic@127.0.0.1:5060
    remote_hash: str  # the appliance's keyed hash of this caller's number


def _new_call(conn: Connection, since: float, remote_hash: str) -> str | None:
    row = conn.execute(
        "SELECT call_id FROM calls WHERE started_at >= ? AND remote_hash = ?"
        " AND ended_at IS NOT NULL ORDER BY started_at LIMIT 1",
        (since, remote_hash),
    ).fetchone()
    return None if row is None else str(row[0])


async def _recorded(db: Database, since: float, remote_hash: str) -> str | None:
    deadline = time.monotonic() + RECORDED_S
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(db.query, _new_call, since, remote_hash)
        if found is not None:
            return found
        await asyncio.sleep(0.5)
    return None


async def _turn(caller: Caller, voice: Voice, scenario: Scenario, turn: Turn) -> float:
    """Say the line (or press the keys); the monotonic time the caller stopped."""
    if turn.dtmf is not None:
        caller.marks.append(len(caller.pcm))
        await caller.call.send_dtmf(turn.dtmf)
        return time.monotonic()
    p = scenario.persona
    text = f"{HESITATION}{turn.say}" if p.hesitations else str(turn.say)
    audio = await asyncio.to_thread(voice.say, text, p.length_scale, p.noise_db)
    await caller.speak(audio)
    return time.monotonic()


async def _converse(voice: Voice, scenario: Scenario, uri: str) -> tuple[str, tuple[float, ...]]:
    """One call: what the caller heard (Whisper's reading) and the reply gaps."""
    telephony, caller, recorder = await dial(uri)
    gaps: list[float] = []
    try:
        await caller.agent_turn()  # the greeting and the AI disclosure
        for turn in scenario.turns:
            if caller.call.ended:
                break
            stopped = await _turn(caller, voice, scenario, turn)
            await caller.agent_turn()
            gap = caller.reply_gap(stopped)
            if gap is not None:
                gaps.append(round(gap, 3))
        if not caller.call.ended:
            await caller.call.hangup()
    finally:
        recorder.cancel()
        await telephony.stop()
    heard = await asyncio.to_thread(voice.text, bytes(caller.pcm), caller.call.rate)
    return heard, tuple(gaps)


async def run_scenario(
    db: Database, voice: Voice, target: Target, scenario: Scenario, k: int,
    progress: Callable[[Run], None] = lambda run: None,
) -> Outcome:  # fmt: skip
    runs = []
    for index in range(1, k + 1):
        since = time.time() - 1.0
        try:
            heard, gaps = await _converse(voice, scenario, target.uri)
        except (ApplianceError, AssertionError) as exc:
            code = getattr(exc, "code", "no-agent-turn")
            runs.append(Run(scenario.id, index, None, (f"the call failed ({code})",), (), {}))
            progress(runs[-1])
            continue
        call_id = await _recorded(db, since, target.remote_hash)
        runs.append(await asyncio.to_thread(judge_run, db, scenario, index, call_id, heard, gaps))
        progress(runs[-1])
    return Outcome(scenario, tuple(runs))


def files_sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in sorted(f for q in paths for f in (sorted(q.glob("*.yaml")) if q.is_dir() else [q])):
        digest.update(p.read_bytes())
    return digest.hexdigest()


async def run_suite(
    db: Database, voice: Voice, target: Target, scenarios: tuple[Scenario, ...], k: int,
    files_sha: str, progress: Callable[[Run], None] = lambda run: None,
) -> list[SuiteResult]:  # fmt: skip
    """Every scenario k times; one result per use case, in the order first named."""
    outcomes = [await run_scenario(db, voice, target, s, k, progress) for s in scenarios]
    cases = list(dict.fromkeys(s.use_case for s in scenarios))
    return [
        SuiteResult(case, k, files_sha, tuple(o for o in outcomes if o.scenario.use_case == case))
        for case in cases
    ]

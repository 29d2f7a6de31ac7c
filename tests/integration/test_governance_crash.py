"""Crash safety: a writer SIGKILLed mid-stream loses nothing it had committed, and the
call it left open is marked interrupted at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository
from tests.integration.test_governance_audit import make_settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 20
COMMITTED_BEFORE_KILL = 25

WRITER = """
import asyncio, sys
from pathlib import Path
from appliance.services.app_db import MIGRATIONS
from appliance.config import load_settings
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository

async def main() -> None:
    db = open_database(load_settings(Path(sys.argv[1])), MIGRATIONS)
    repo = CallRepository(db)
    call_id = sys.argv[2]
    await repo.start_call(call_id, 1000.0, "PCMU", "h")
    seq = 0
    while True:
        seq = await repo.add_turn(call_id, "caller", f"turn {seq} " + "x" * 2000, 1.0, 2.0, {})
        print(seq, flush=True)  # printed only after the commit returned

asyncio.run(main())
"""


def run_and_kill(config: Path, call_id: str) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CREDENTIALS_DIRECTORY", None)
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(config), call_id],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert child.stdout is not None
    committed: list[int] = []
    for line in child.stdout:
        committed.append(int(line))
        if len(committed) >= COMMITTED_BEFORE_KILL:
            break
    os.kill(child.pid, signal.SIGKILL)  # mid-stream: it is writing the next turn
    child.wait(timeout=10)
    committed += [int(line) for line in child.stdout.read().split()]
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return committed


def test_sigkilled_writers_lose_no_committed_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    settings, config = make_settings(tmp_path)
    open_database(settings, MIGRATIONS, create=True).close()
    for round_ in range(ROUNDS):
        call_id = f"call-{round_}"
        committed = run_and_kill(config, call_id)
        assert len(committed) >= COMMITTED_BEFORE_KILL
        db = open_database(settings, MIGRATIONS)
        try:
            assert db.integrity_problems() == []
            repo = CallRepository(db)
            stored = [t.seq for t in repo.turns(call_id)]
            interrupted = repo.mark_interrupted(2000.0)
            outcome = repo.list_calls(1)[0].outcome
            last_audit = db.query(
                lambda c: c.execute("SELECT action, outcome, reason_code, call_id FROM audit"
                                    " ORDER BY seq DESC LIMIT 1").fetchone()
            )  # fmt: skip
            verdict = AuditLog(db).verify()
        finally:
            db.close()
        assert stored[: len(committed)] == committed  # every committed turn, in order
        assert len(stored) <= len(committed) + 1  # at most the one in flight
        assert interrupted == [call_id] and outcome == "interrupted"
        assert tuple(last_audit) == ("call.end", "failed", "interrupted", call_id)
        assert verdict.ok, verdict.line()

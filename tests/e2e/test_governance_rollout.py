"""Issue 18's rollout on the running appliance (`appliance run`, the default demo clinic,
real SIP, the demo front desk): clinic information in draft takes no call (a caller's
opening-hours question goes to the desk, audited `use-case-disabled`); `appliance
simulate` passes; two enrolled console users promote it with TOTP through `appliance
usecases promote` (one asks, the other approves); after a seeded week it passes its gate
and the owner promotes it to production (the gate evidence's sha256 recorded); a seeded
containment drop pauses it through the appliance's own scheduled enforce (`[governance]
enforce_every_min`); `appliance usecases kill agent` in the middle of a call sends that
call's next turn to the desk (`agent-killed`). Every step is in the audit chain, in
order, and `appliance audit verify` passes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp
import pytest

from appliance.config import load_settings
from appliance.console import credentials as cred
from appliance.governance import use_cases as uc
from appliance.services.app_db import open_store
from appliance.store.db import Connection, Database
from appliance.workflows.use_case_gate import TTL_S
from tests.conftest import REPO
from tests.e2e.conftest import APPLIANCE, Running, wait_healthy, write_config
from tests.e2e.workflow_support import Voice, dial
from tests.integration.rollout_seed import DAY, REPLIED, TRANSFER_OK, Clock, enrol, green, seed_call

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]
CASE = "clinic-information"  # low risk; the caller's line below is its intent, clinic_info
FAQ = "What time do you open on Saturday?"
INTENT = ("intent", "clinic_info")  # the event the session records for an understood turn


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("governance")
    var, config, log = root / "var", root / "appliance.toml", root / "appliance.log"
    sip_port, admin_port = write_config(config, var, models_dir)
    text = config.read_text().replace("[sip]\n", "[sip]\nworkers = 1\n", 1)
    config.write_text(text + "[governance]\nenforce_every_min = 0.05  # every 3 s\n")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*APPLIANCE, "--config", str(config), "run"], stdout=out, stderr=subprocess.STDOUT,
            cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    running = Running(config, var, sip_port, admin_port, log, proc)
    try:
        wait_healthy(running, timeout=240)
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    assert code == 0, f"appliance exited with {code}:\n{log.read_text()[-4000:]}"


@pytest.fixture(scope="module")
def voice(models_dir: Path) -> Voice:
    return Voice.load(models_dir)


@contextmanager
def store(app: Running) -> Iterator[Database]:
    """The running appliance's store as its CLI opens it (keys, audit signer)."""
    db, _ = open_store(load_settings(app.config))
    try:
        yield db
    finally:
        db.close()


class Code:
    """A console user's authenticator: each sign-off gets a step not used before (the
    current one, else the next, which the appliance accepts as the clock's neighbour)."""

    def __init__(self, totp: pyotp.TOTP) -> None:
        self.totp, self.last = totp, -1

    def fresh(self) -> str:
        self.last = max(int(time.time() // cred.TOTP_STEP_S), self.last + 1)
        return self.totp.at(self.last * cred.TOTP_STEP_S)


def cli_ok(app: Running, *args: str) -> str:
    out = app.cli(*args)
    assert out.returncode == 0, f"{args}: {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out.stdout


def promote(app: Running, to: str, by: str, approver: str, code: Code, why: str) -> None:
    said = cli_ok(app, "usecases", "promote", CASE, "--to", to, "--by", by,
                  "--approved-by", approver, "--totp", code.fresh(), "--comment", why)  # fmt: skip
    assert f"{CASE}: " in said and f"-> {to}" in said, said


def seed(db: Database, prefix: str, start: float, every: float, n: int, desk: int) -> None:
    """`n` ended calls understood as clinic information, `desk` of them sent to the desk."""

    def write(conn: Connection) -> None:
        for i in range(n):
            events = [INTENT, *(TRANSFER_OK if i < desk else REPLIED)]
            seed_call(conn, f"{prefix}{i}", start + i * every, events, verdicts=green())

    db.execute(write)


async def desk_got(app: Running, reason: str, timeout_s: float = 60) -> str:
    """The demo front desk's log line of a transfer with this reason."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in app.log.read_text().splitlines():
            if "demo front desk: a transfer arrived" in line and f'"reason": "{reason}"' in line:
                return line
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {reason} transfer at the desk\n{app.log.read_text()[-3000:]}")


async def left(ended: Awaitable[None], timeout_s: float = 30) -> None:
    try:
        await asyncio.wait_for(ended, timeout_s)
    except TimeoutError:
        raise AssertionError(
            f"the agent did not leave the call {timeout_s} s after REFER"
        ) from None


def audited(db: Database, sql: str, *args: str) -> list[tuple[str, ...]]:
    return db.query(lambda c: [tuple(map(str, r)) for r in c.execute(sql, args)])


async def ask_in_draft(app: Running, voice: Voice) -> None:
    """Step 1: in draft, the caller's question goes to the desk, audited for the call."""
    with store(app) as db:  # the demo clinic starts it in pilot: back to draft
        uc.change(db, uc.Change(CASE, "draft", "rita", None, "rollout from draft"))
    telephony, caller, recorder = await dial(app.uri)
    try:
        await caller.agent_turn()  # the greeting: the use case reader's TTL passes
        await caller.speak(await asyncio.to_thread(voice.say, FAQ))
        await desk_got(app, "use-case-disabled")
        await left(caller.call.wait_ended())  # the agent left the call after its REFER
    finally:
        recorder.cancel()
        await telephony.stop()
    with store(app) as db:
        sql = "SELECT a.call_id FROM audit a JOIN calls c USING (call_id) WHERE a.reason_code = ?"
        assert audited(db, sql, "use-case-disabled"), "no use-case-disabled record for the call"


def promote_to_pilot(app: Running) -> tuple[Code, Code]:
    """Steps 2-3: the simulation passes; alice asks, bob approves with TOTP."""
    report = json.loads(cli_ok(app, "simulate", "--use-case", CASE, "--by", "alice", "--json"))
    assert report["passed"] and report["use_case"] == CASE, report
    with store(app) as db:
        clock = Clock(time.time() - 4 * cred.TOTP_STEP_S)  # enrolment used a past step
        enrol(db, "alice", "contact-centre-lead", clock)
        bob = Code(enrol(db, "bob", "platform-engineer", clock))
        olga = Code(enrol(db, "olga", "owner", clock))
    promote(app, "simulated", "alice", "bob", bob, "its simulation passed")
    promote(app, "pilot", "alice", "bob", bob, "checklist done, simulation passed")
    return bob, olga


def promote_to_production(app: Running, olga: Code) -> None:
    """Step 4: a seeded week passes the gate; the owner signs off with its evidence."""
    now = time.time()
    with store(app) as db:  # 38 of 40 contained, none in the last 24 h
        seed(db, "week-", now - 7 * DAY + 3600, 3.5 * 3600, 40, desk=2)
    promote(app, "production", "alice", "olga", olga, "a good pilot week")
    with store(app) as db:
        [row] = audited(
            db, "SELECT evidence_sha256, evidence FROM use_case_signoffs WHERE to_state = ?",
            "production",
        )  # fmt: skip
        history = [h for h in uc.history(db, CASE) if h["to"] == "production"]
    sha, evidence = row
    assert hashlib.sha256(evidence.encode()).hexdigest() == sha
    gate = json.loads(evidence)
    assert gate["passed"] and gate["state"] == "pilot", gate
    assert [h["evidence"] for h in history] == [sha]


async def paused_by_enforce(app: Running) -> None:
    """Step 5: a day with half the calls at the desk; the scheduled enforce pauses it."""
    with store(app) as db:
        seed(db, "drop-", time.time() - DAY + 600, 3600, 10, desk=5)
        deadline = time.monotonic() + 60
        while uc.states(db)[CASE] != "paused":
            assert time.monotonic() < deadline, f"not paused: {uc.states(db)[CASE]}"
            await asyncio.sleep(0.5)
        sql = "SELECT actor, reason_code FROM audit WHERE action = ? AND object_id = ?"
        [(actor, reason)] = audited(db, sql, "usecase.demoted", CASE)
    assert actor == "gate-monitor" and reason.startswith("containment-drop-24h:sha256:")


async def killed_mid_call(app: Running, voice: Voice) -> None:
    """Step 6: one answered turn, the agent's kill switch, the next turn to the desk."""
    telephony, caller, recorder = await dial(app.uri)
    try:
        await caller.agent_turn()
        await caller.speak(await asyncio.to_thread(voice.say, "I'd like to book a checkup."))
        await caller.agent_turn()  # scheduling is live (the demo's pilot): it asks who
        assert not caller.call.ended
        assert "agent: live -> killed" in cli_ok(app, "usecases", "kill", "agent", "--by", "dana")
        await asyncio.sleep(TTL_S)  # the agent reads the switch at most this long after
        await caller.speak(await asyncio.to_thread(voice.say, "John Smith."))
        await desk_got(app, "agent-killed")
        await left(caller.call.wait_ended())
    finally:
        recorder.cancel()
        await telephony.stop()


def chain_in_order(app: Running) -> None:
    """Step 7: each step's record, in this order, and the chain verifies."""
    with store(app) as db:
        rows = audited(db, "SELECT action, object_id, reason_code FROM audit ORDER BY seq")
    steps = [
        (action, (reason or "").split(":")[0])
        for action, target, reason in rows
        if (target in (CASE, uc.AGENT) and action != "usecase.created")
        or (action == "handoff.create" and reason in ("use-case-disabled", "agent-killed"))
    ]
    assert steps == [
        ("usecase.state", "draft"), ("handoff.create", "use-case-disabled"),
        ("usecase.simulation", steps[2][1]),  # the report's sha256
        ("usecase.signoff", "simulated"), ("usecase.state", "simulated"),
        ("usecase.signoff", "pilot"), ("usecase.state", "pilot"),
        ("usecase.signoff", "production"), ("usecase.state", "production"),
        ("usecase.state", "paused"), ("usecase.demoted", "containment-drop-24h"),
        ("usecase.killed", "killed"), ("handoff.create", "agent-killed"),
    ], steps  # fmt: skip
    verified = app.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_a_use_case_rolled_out_and_stopped_on_the_running_appliance(
    app: Running, voice: Voice
) -> None:
    started = time.monotonic()
    await ask_in_draft(app, voice)
    _, olga = await asyncio.to_thread(promote_to_pilot, app)
    await asyncio.to_thread(promote_to_production, app, olga)
    await paused_by_enforce(app)
    await killed_mid_call(app, voice)
    await asyncio.to_thread(chain_in_order, app)
    print(f"rollout steps: {time.monotonic() - started:.1f} s")

"""One use case through the rollout on the real store, as the workflow engine sees it: in
draft it takes no call and cannot leave draft until its simulation (its dialogues through
the real workflows) passes; its checklist done, it is promoted to pilot by a second console
user with TOTP and takes calls; after a seeded week it passes its gate and the owner
promotes it to production; a seeded containment drop pauses it automatically (the next
call goes to the desk again); the agent's kill switch sends the next turn to the desk.
Every step is in the audit chain, and the chain verifies."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.config import Governance
from appliance.console import credentials as cred
from appliance.errors import GovernanceError
from appliance.governance import checklist, demotion, gates, promotion, simulation
from appliance.governance import use_cases as uc
from appliance.llm.understanding import Intent
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog
from appliance.store.db import Connection, Database
from appliance.workflows.simulation import simulate
from appliance.workflows.use_case_gate import UseCaseGate
from tests.integration.rollout_seed import DAY, REPLIED, T0, TRANSFER_OK, Clock, enrol, green
from tests.integration.rollout_seed import seed_call as seed
from tests.integration.test_schedule import open_db
from tests.integration.test_use_cases import engine, understood

pytestmark = pytest.mark.integration
RULES = promotion.Rules(Governance(min_calls=20))
CASE = "clinic-information"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "s.db")
    yield database
    database.close()


def calls(db: Database, prefix: str, start: float, every: float, n: int, desk: int) -> None:
    def write(conn: Connection) -> None:
        for i in range(n):
            events = TRANSFER_OK if i < desk else REPLIED
            seed(conn, f"{prefix}{i}", start + i * every, events, verdicts=green())

    db.execute(write)


async def simulate_demo(tmp_path: Path, case: str) -> simulation.Report:
    dialogues = simulation.load_dialogues()
    found = next(c for c in uc.BUILT_IN if c.id == case)
    work = tmp_path / "simulate"
    work.mkdir()
    return await simulate(
        work, lambda p: Database.open(p, "5b" * 32, MIGRATIONS), dialogues,
        ZoneInfo(simulation.TIMEZONE), (found.id, found.intents), 0.9, "f" * 64,
    )  # fmt: skip


async def test_a_use_case_from_draft_to_production_and_back(db: Database, tmp_path: Path) -> None:
    uc.ensure_built_in(db, demo=False, at=T0 - 30 * DAY)
    wf = engine(db, UseCaseGate(db, ttl_s=0.0))
    hours = understood("What are your opening hours?", Intent.CLINIC_INFO)
    assert (await wf.turn(hours, "opening hours")).transfer == "use-case-disabled"  # draft

    clock = Clock(T0 - 4 * DAY)
    enrol(db, "alice", "contact-centre-lead", clock)
    bob, olga = enrol(db, "bob", "platform-engineer", clock), enrol(db, "olga", "owner", clock)
    for item in checklist.ITEM_IDS:
        checklist.tick(db, checklist.Tick(CASE, item, "rita", f"https://wiki/{item}"), clock.now)
    leave_draft = uc.Change(CASE, "simulated", "alice", "bob", "to simulated")
    with pytest.raises(GovernanceError) as no_simulation:
        promotion.promote(db, leave_draft, bob.at(clock.now), RULES, clock.now)
    assert no_simulation.value.code == "usecase-simulation-missing"
    report = await simulate_demo(tmp_path, CASE)  # its dialogues, through the real workflows
    assert report.passed and report.count("reached") == len(report.results) >= 5
    simulation.record(db, report, "alice", clock.now)
    for to in ("simulated", "pilot"):
        change = uc.Change(CASE, to, "alice", "bob", f"to {to}")
        promotion.promote(db, change, bob.at(clock.now), RULES, clock.now)
        clock.now += cred.TOTP_STEP_S
    assert (await wf.turn(hours, "opening hours")).transfer is None  # pilot: answered

    calls(db, "week", T0 - 8 * DAY, 3.6 * 3600, 40, desk=2)  # 38 of 40 contained
    at = T0 - 2 * DAY
    gate = db.query(lambda c: gates.evaluate_one(c, RULES.governance, at, CASE))
    assert gate is not None and gate.passed, gate
    up = uc.Change(CASE, "production", "alice", "olga", "a good week")
    assert promotion.promote(db, up, olga.at(at), RULES, at) == "pilot"

    calls(db, "drop", T0 - DAY + 60, 3600, 10, desk=5)  # half to the desk in the last 24 h
    [paused] = demotion.enforce(db, RULES.governance, T0)
    assert (paused.from_state, paused.failing) == ("production", ("containment-drop-24h",))
    wf = engine(db, UseCaseGate(db, ttl_s=0.0))
    assert (await wf.turn(hours, "opening hours")).transfer == "use-case-disabled"

    uc.change(db, uc.Change(uc.AGENT, "killed", "dana"), T0 + 60)
    wf = engine(db, UseCaseGate(db, ttl_s=0.0))
    assert (await wf.turn(hours, "opening hours")).transfer == "agent-killed"

    sql = "SELECT action, reason_code FROM audit WHERE action LIKE 'usecase.%' ORDER BY seq"
    steps = db.query(lambda c: [(str(a), str(r)) for a, r in c.execute(sql)])
    mine = [(a, r.split(":")[0]) for a, r in steps if a != "usecase.created"]
    assert mine == [
        *[("usecase.checklist", item) for item in checklist.ITEM_IDS],
        ("usecase.signoff", "usecase-simulation-missing"), ("usecase.simulation", report.sha256()),
        ("usecase.signoff", "simulated"), ("usecase.state", "simulated"),
        ("usecase.signoff", "pilot"), ("usecase.state", "pilot"),
        ("usecase.signoff", "production"), ("usecase.state", "production"),
        ("usecase.state", "paused"), ("usecase.demoted", "containment-drop-24h"),
        ("usecase.killed", "killed"),
    ]  # fmt: skip
    assert AuditLog(db).verify().ok

"""Running a use case's labelled dialogues (appliance/governance/simulation.py) through the
clinic agent as a call does: the product's understander (rules and parsers, no model) and
engine, the built-in schedule on a scratch copy of the demo clinic store, "now" pinned to
the dialogues' reference time. The engine handles the simulated use case as if it were
live, next to the demo clinic's own (`Policy().enabled`). Text in, codes out.

The outcome is read from what happened, not from the agent's words: the store's
appointments for booked / rescheduled / cancelled, the reply's directive for transfers,
payments and the end of the call, the vetted KB answer for answered questions.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appliance.demo.config import CLINIC_DIR
from appliance.demo.seed import seed_if_empty
from appliance.domain import CallId
from appliance.errors import ApplianceError
from appliance.governance.simulation import Dialogue, DialogueSet, Report, Result, judge
from appliance.llm.understanding import Intent
from appliance.ports import AgentTurn
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.store.db import Connection, Database
from appliance.workflows import templates as t
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import Policy, WorkflowEngine
from appliance.workflows.kb import KnowledgeBase, load_kb
from appliance.workflows.understander import Understander

ASKS = (t.ASK_IDENTITY, t.ASK_FULL_NAME, t.ASK_BIRTH_DATE, t.ASK_IDENTITY_AGAIN)
Opener = Callable[[Path], Database]  # opens (creating) a store with the app's migrations


def _appointments(conn: Connection) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT id, status, start_utc, type_id, provider_id, patient_id FROM appointments"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def _store_outcome(before: dict[str, Any], after: dict[str, Any], out: dict[str, Any]) -> None:
    for key, (status, start, type_id, provider, patient) in after.items():
        old = before.get(key)
        if old is None and status == "booked":
            out.update(outcome="booked", appointment_type=type_id, provider=provider)
        elif old is not None and old[0] == "booked" and status == "cancelled":
            out["outcome"] = "cancelled"
        elif old is not None and old[1] != start:
            out.update(outcome="rescheduled", provider=provider)
        else:
            continue
        out["patient"] = patient


class Simulator:
    """Runs dialogues, each on its own copy of one seeded demo clinic store."""

    def __init__(self, work: Path, opener: Opener, dialogues: DialogueSet, tz: ZoneInfo):
        self._work, self._open, self._tz = work, opener, tz
        self.now = datetime.fromisoformat(dialogues.reference_now).replace(tzinfo=tz)
        self._base = work / "demo-clinic.db"
        db = opener(self._base)
        try:
            seed_if_empty(db, tz, CLINIC_DIR, today=self.now.date())
        finally:
            db.close()
        self.kb = load_kb(CLINIC_DIR / "kb.toml")

    async def run(
        self, use_case: str, intents: tuple[str, ...], dialogues: DialogueSet
    ) -> list[Result]:
        enabled = frozenset(Policy().enabled | {Intent(i) for i in intents})
        return [await self._one(d, enabled) for d in dialogues.of(use_case)]

    async def _one(self, dialogue: Dialogue, enabled: frozenset[Intent]) -> Result:
        scratch = self._work / "run.db"
        shutil.copyfile(self._base, scratch)
        db = self._open(scratch)
        try:
            return judge(dialogue, await self._turns(db, dialogue, enabled))
        except ApplianceError as exc:
            return Result(dialogue.id, "failed", exc.code)
        finally:
            db.close()
            scratch.unlink(missing_ok=True)

    async def _turns(
        self, db: Database, dialogue: Dialogue, enabled: frozenset[Intent]
    ) -> dict[str, Any]:
        now = self.now
        schedule = BuiltinSchedule(db, self._tz, now=lambda: now)
        engine = WorkflowEngine(
            schedule, self.kb, self._tz, policy=Policy(enabled=enabled), clock=lambda: now
        )
        agent = ClinicAgent(Understander(None, "never"), engine, None)
        out: dict[str, Any] = {"outcome": "none", "identity_asked": False}
        before = db.query(_appointments)
        for number, text in enumerate(dialogue.turns):
            reply = agent.respond(AgentTurn(CallId(f"simulation-{number}"), text, (), ""))
            said = "".join([part async for part in reply.text])
            out["identity_asked"] |= any(ask in said for ask in ASKS)
            _answered(self.kb, said, out)
            if reply.directive is not None:
                d = reply.directive
                if d.payment:
                    out["outcome"] = "payment"
                elif d.transfer_reason:
                    out.update(outcome="transferred", reason=d.transfer_reason)
                elif "emergency" in engine.state.flags:
                    out["outcome"] = "emergency"
                elif out["outcome"] == "none":
                    out["outcome"] = "ended"
                break
            if said.startswith(("Your next appointment is", t.NO_APPOINTMENTS)):
                out["outcome"] = "status"
        _store_outcome(before, db.query(_appointments), out)
        if out.get("patient") is None and engine.state.patient is not None:
            out["patient"] = engine.state.patient.id
        return out


def _answered(kb: KnowledgeBase, said: str, out: dict[str, Any]) -> None:
    for topic in kb.topic:
        if topic.answer in said:
            out["topic"] = topic.id
            if out["outcome"] == "none":
                out["outcome"] = "answered"


async def simulate(
    work: Path, opener: Opener, dialogues: DialogueSet, tz: ZoneInfo,
    case: tuple[str, tuple[str, ...]],
    threshold: float, file_sha256: str,
) -> Report:  # fmt: skip
    """Run the dialogues of use case `case` (id, intents) and tally them."""
    use_case, intents = case
    simulator = Simulator(work, opener, dialogues, tz)
    results = await simulator.run(use_case, intents, dialogues)
    return Report(use_case, threshold, file_sha256, tuple(results))

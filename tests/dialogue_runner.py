"""Running the labelled dialogues (tests/assets/understanding/dialogues_*.toml) through the
clinic agent as a call does: the product's understander and engine, the real built-in
schedule on SQLCipher seeded with the demo clinic, "now" pinned to the file's
`reference_now`. Text in, text out (the speech path has its own tests).

The outcome is read from what happened, not from the agent's words: the store's
appointments for booked / rescheduled / cancelled, the reply's directive for transfers,
payments and the end of the call, the vetted KB answer for answered questions.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appliance.demo.config import CLINIC_DIR
from appliance.demo.seed import seed_if_empty
from appliance.llm.understanding import LlmIntents
from appliance.ports import AgentTurn
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Connection, Database
from appliance.workflows import templates as t
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import load_kb
from appliance.workflows.understander import LlmWhen, Understander

ASSETS = Path(__file__).resolve().parent / "assets" / "understanding"
TZ = ZoneInfo("America/New_York")
ASKS = (t.ASK_IDENTITY, t.ASK_FULL_NAME, t.ASK_BIRTH_DATE, t.ASK_IDENTITY_AGAIN)


def load(name: str) -> tuple[datetime, list[dict[str, Any]]]:
    data = tomllib.loads((ASSETS / name).read_text("utf-8"))
    now = datetime.fromisoformat(data.get("reference_now", "2026-12-07T09:00:00"))
    return now.replace(tzinfo=TZ), data["dialogue"]


@dataclass
class Outcome:
    outcome: str = "none"
    reason: str | None = None
    appointment_type: str | None = None
    provider: str | None = None
    topic: str | None = None
    patient: str | None = None
    identity_asked: bool = False
    replies: list[str] = field(default_factory=list)

    def matches(self, expect: dict[str, Any]) -> list[str]:
        """The expected fields this outcome gets wrong (names only)."""
        got = {**self.__dict__}
        return [k for k, v in expect.items() if got.get(k) != v]


def _appointments(conn: Connection) -> dict[str, tuple[str, ...]]:
    rows = conn.execute(
        "SELECT id, status, start_utc, type_id, provider_id, patient_id FROM appointments"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def _store_outcome(before: dict[str, Any], after: dict[str, Any], out: Outcome) -> None:
    for key, (status, start, type_id, provider, patient) in after.items():
        old = before.get(key)
        if old is None and status == "booked":
            out.outcome, out.appointment_type, out.provider = "booked", type_id, provider
        elif old is not None and old[0] == "booked" and status == "cancelled":
            out.outcome = "cancelled"
        elif old is not None and old[1] != start:
            out.outcome, out.provider = "rescheduled", provider
        else:
            continue
        out.patient = patient


class DialogueRun:
    """One dialogue on a fresh store (`path`), the LLM asked as `llm_when` says."""

    def __init__(self, path: Path, now: datetime, llm: LlmIntents | None, llm_when: LlmWhen):
        self.db = Database.open(path, "5a" * 32, MIGRATIONS)
        seed_if_empty(self.db, TZ, CLINIC_DIR, today=now.date())
        clock: Callable[[], datetime] = lambda: now  # noqa: E731
        schedule = BuiltinSchedule(self.db, TZ, now=clock)
        self.kb = load_kb(CLINIC_DIR / "kb.toml")
        self.engine = WorkflowEngine(schedule, self.kb, TZ, clock=clock)
        self.agent = ClinicAgent(Understander(llm, llm_when), self.engine, None)

    async def run(self, turns: list[str]) -> Outcome:
        out = Outcome()
        before = self.db.query(_appointments)
        for number, text in enumerate(turns):
            reply = self.agent.respond(AgentTurn(f"call-{number}", text, (), ""))
            said = "".join([part async for part in reply.text])
            out.replies.append(said)
            out.identity_asked |= any(ask in said for ask in ASKS)
            self._answered(said, out)
            if reply.directive is not None:
                d = reply.directive
                if d.payment:
                    out.outcome = "payment"
                elif d.transfer_reason:
                    out.outcome, out.reason = "transferred", d.transfer_reason
                elif "emergency" in self.engine.state.flags:
                    out.outcome = "emergency"
                elif out.outcome == "none":
                    out.outcome = "ended"
                break
            if said.startswith(("Your next appointment is", t.NO_APPOINTMENTS)):
                out.outcome = "status"
        _store_outcome(before, self.db.query(_appointments), out)
        if out.patient is None and self.engine.state.patient is not None:
            out.patient = self.engine.state.patient.id
        self.db.close()
        return out

    def _answered(self, said: str, out: Outcome) -> None:
        for topic in self.kb.topic:
            if topic.answer in said:
                out.topic = topic.id
                if out.outcome == "none":
                    out.outcome = "answered"

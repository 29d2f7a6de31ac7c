"""Moving the reminded appointment through the same workflows as an inbound call.

When the callee, identified by first name, answers the details question (or the cancel
question) with a wish to move it ("can I move it to Thursday?", "I need a different
day"), the inbound understander (appliance.workflows.understander) reads the wish and
its day and time, and the clinic's WorkflowEngine, built as for an inbound call, takes
over with that patient and that appointment (`WorkflowEngine.move_for`): offers from the
schedule, the read-back, the confirmation, turn by turn, every sentence from the
workflow templates. Each workflow action is audited as an inbound call's
(`call.workflow-<action>`), and a move done adds `reminder.rescheduled`.

What an outbound call cannot do is closed with an outbound template: a transfer the
workflows ask for becomes the call-back number (appliance.outbound.templates.front_desk);
the workflows' closing question ("anything else?") gives way to the goodbye.
An opt-out is listened for at every turn, as in the rest of the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from appliance.domain import WorkflowAction
from appliance.outbound import templates as say
from appliance.outbound.ledger import Ledger
from appliance.outbound.optout_phrases import is_opt_out
from appliance.ports import Clock
from appliance.scheduling.model import Appointment, Patient
from appliance.store.db import Connection, Database
from appliance.workflows import templates as t
from appliance.workflows.answers import Answer, classify
from appliance.workflows.engine import CLEAR, WorkflowEngine
from appliance.workflows.said import Vocabulary
from appliance.workflows.state import Decision, Stage
from appliance.workflows.understander import Understander, Understanding

SURE = 0.8  # a wish this clear moves even after a "no" ("no, can I move it?")
RESCHEDULE = "reschedule"  # the intent code (appliance.llm is a layer above this one)
OPTED_OUT = "opted-out"  # the result the reminder call turns into its opt-out

Load = Callable[[str], tuple[Patient, Appointment] | None]


class Talk(Protocol):
    """The answered call as the hand-over uses it (reminder_call._Line)."""

    ended: bool

    async def say(self, text: str) -> None: ...

    async def ask(self, text: str, within: float) -> str | None: ...

    async def earlier(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Start:
    """A wish to move, read: the engine that will take it and the understanding."""

    engine: WorkflowEngine
    understood: Understanding


@dataclass(frozen=True, slots=True)
class Moves:
    engines: Callable[[], WorkflowEngine]  # one per call, built as for an inbound call
    understander: Understander
    load: Load  # the patient and the appointment, while it is booked
    max_turns: int = 10

    async def wish(self, text: str) -> Start | None:
        """`text` read as a wish to move the appointment, or None."""
        engine = self.engines()
        await know_the_clinic(self.understander, engine)
        u = await self.understander.understand(text, engine.now())
        if u.intent.value != RESCHEDULE or u.confidence < CLEAR:
            return None
        if classify(text) is Answer.NO and not u.said.has_when and u.confidence < SURE:
            return None  # "no, I can't make it": the cancel question decides
        return Start(engine, u)


async def know_the_clinic(understander: Understander, engine: WorkflowEngine) -> None:
    """The providers, appointment types and KB, for reading details (once, as the
    inbound agent does)."""
    if understander.vocabulary.providers or understander.vocabulary.kb is not None:
        return
    providers = tuple(await engine.schedule.providers())
    types = tuple(await engine.schedule.appointment_types())
    understander.vocabulary = Vocabulary(providers, types, engine.kb)


def booked_appointment(db: Database, zone: ZoneInfo) -> Load:
    """The patient and the appointment, from the store, while it is booked."""

    def read(conn: Connection, appointment_id: str) -> tuple[Patient, Appointment] | None:
        row = conn.execute(
            "SELECT p.id, p.first_name, p.last_name, p.birth_date, a.provider_id, a.type_id,"
            " a.start_utc, a.end_utc FROM appointments a JOIN patients p ON p.id = a.patient_id"
            " WHERE a.id = ? AND a.status = 'booked'",
            (appointment_id,),
        ).fetchone()
        if row is None:
            return None
        patient = Patient(str(row[0]), str(row[1]), str(row[2]), date.fromisoformat(str(row[3])))
        start, end = (datetime.fromtimestamp(int(v), zone) for v in (row[6], row[7]))
        booked = Appointment(
            appointment_id, patient.id, str(row[4]), str(row[5]), start, end, "booked"
        )
        return patient, booked

    return lambda appointment_id: db.query(read, appointment_id)


class Handover:
    """One move, from the wish to the end of the call; `run` gives the call's result."""

    def __init__(
        self, moves: Moves, talk: Talk, ledger: Ledger, clock: Clock, words: tuple[str, float]
    ) -> None:
        self._m, self._talk, self._ledger, self._clock = moves, talk, ledger, clock
        self._callback, self._answer_s = words  # the call-back number, s to wait a reply
        self._audited = 0

    async def run(self, appointment_id: str, start: Start) -> str:
        found = self._m.load(appointment_id)
        if found is None:  # cancelled meanwhile: nothing to move
            await self._talk.say(say.front_desk(self._callback))
            return "not-booked"
        engine = start.engine
        decision = await engine.move_for(*found, start.understood)
        silent = 0
        for _ in range(self._m.max_turns):
            moved = self._audit(engine, appointment_id)
            ended = await self._ending(engine, decision, moved)
            if ended is not None:
                return ended
            heard = await self._hear(decision.say)
            if heard in (OPTED_OUT, "hung-up"):
                return str(heard)
            if heard is None:
                silent += 1
                if silent >= 2:
                    return await self._close(say.front_desk(self._callback), "no-reply")
                continue
            silent = 0
            u = await self._m.understander.understand(heard, engine.now())
            decision = await engine.turn(u, heard)
        return await self._close(say.front_desk(self._callback), "no-reply")

    async def _hear(self, question: str) -> str | None:
        """The callee's answer to `question`; OPTED_OUT or "hung-up" as such."""
        if any(is_opt_out(text) for text in await self._talk.earlier()):
            return OPTED_OUT
        text = await self._talk.ask(question, self._answer_s)
        if text is not None and is_opt_out(text):
            return OPTED_OUT
        return "hung-up" if self._talk.ended else text

    async def _ending(self, engine: WorkflowEngine, decision: Decision, moved: bool) -> str | None:
        """The call's result when this decision ends the move, having said its last words."""
        if decision.transfer is not None:
            return await self._close(say.front_desk(self._callback), "to-front-desk")
        if decision.end_call:  # an emergency's instruction, or a goodbye
            emergency = "emergency" in decision.flags
            return await self._close(decision.say, "emergency" if emergency else "left-as-is")
        if engine.state.stage is not Stage.IDLE:
            return None
        if moved:
            closing = decision.say.removesuffix(t.ANYTHING_ELSE).rstrip()
            return await self._close(f"{closing} {say.GOODBYE}", "rescheduled")
        return await self._close(say.left_as_is(self._callback), "left-as-is")

    async def _close(self, text: str, result: str) -> str:
        await self._talk.say(text)
        return result

    def _audit(self, engine: WorkflowEngine, appointment_id: str) -> bool:
        """Audit the engine's new actions; whether the appointment was moved."""
        at, moved = self._clock.time(), False
        for action in engine.state.actions[self._audited :]:
            self._ledger.audit_workflow(action.action.value, action.outcome, at)
            if action.action is WorkflowAction.RESCHEDULE and action.outcome == "ok":
                self._ledger.audit_result(appointment_id, "rescheduled", at)
                moved = True
        self._audited = len(engine.state.actions)
        return moved

"""The workflow engine: one deterministic decision per caller turn."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.domain import WorkflowAction
from appliance.errors import SchedulingError
from appliance.llm.understanding import Intent, Understanding
from appliance.scheduling.dates import PARTS_OF_DAY, resolve
from appliance.scheduling.model import ScheduleBackend, Slot, SlotQuery
from appliance.workflows import messages
from appliance.workflows import templates as t
from appliance.workflows.answers import Answer, classify
from appliance.workflows.identity import (
    birth_date,
    full_name,
    names_someone_else,
    without_birth_date,
)
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.lockout import LOCKED_REASON, IdentityLockouts
from appliance.workflows.state import ActionRecord, Decision, DialogueState, Stage

_ORDINAL = {"first": 0, "earlier": 0, "second": 1, "later": 1, "last": -1}
SCHEDULING = (Intent.BOOK, Intent.RESCHEDULE, Intent.CANCEL, Intent.APPOINTMENT_STATUS)
HIGH_RISK = (Intent.REFILL, Intent.BILLING, Intent.TEST_RESULTS)
MESSAGE_STAGES = (Stage.OFFER_MESSAGE, Stage.TAKE_MESSAGE, Stage.TAKE_NUMBER)
# a billing request to pay (not a question about a bill): goes to the PCI pause
_PAY = re.compile(r"\b(pay|paying|payment|card)\b", re.I)
PAYMENT_REASON = "billing-payment"
PAYMENT_SAY = "I can help you pay securely."


@dataclass(frozen=True, slots=True)
class Policy:
    enabled: frozenset[Intent] = frozenset(
        {*SCHEDULING, Intent.CLINIC_INFO, Intent.GOODBYE, Intent.OTHER}
    )
    default_type: str = "checkup"
    emergency_number: str = "911"
    max_identity_attempts: int = 2
    max_misunderstood: int = 2
    min_confidence: float = 0.4
    offer_count: int = 2


@dataclass(slots=True)
class WorkflowEngine:
    schedule: ScheduleBackend
    kb: KnowledgeBase
    tz: ZoneInfo
    policy: Policy = field(default_factory=Policy)
    state: DialogueState = field(default_factory=DialogueState)
    clock: Callable[[], datetime] | None = None  # aware "now" (tests pin it)
    lockouts: IdentityLockouts | None = None  # identity lockout across calls
    caller_key: str = ""  # keyed hash of the caller's number ("": not known, no lockout)
    call_id: str = ""
    _providers: dict[str, str] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(self.tz)

    async def turn(self, u: Understanding, text: str) -> Decision:
        s, p = self.state, self.policy
        if u.intent == Intent.EMERGENCY:
            s.flags.add("emergency")
            say = t.EMERGENCY.format(number=p.emergency_number)
            return Decision(say, end_call=True, flags=("emergency",))
        wants_human = u.wants_human or u.intent == Intent.SPEAK_TO_PERSON
        if wants_human and s.stage not in MESSAGE_STAGES:  # no human was free a moment ago
            return self._escalate("caller-request")
        if u.intent == Intent.BILLING and _PAY.search(text) and s.stage not in MESSAGE_STAGES:
            return self._payment()
        if u.intent == Intent.GOODBYE and s.stage in (Stage.IDLE, Stage.CHOOSE_DAY):
            return Decision(t.GOODBYE, end_call=True)
        if s.patient is not None and s.stage not in MESSAGE_STAGES and self._other(u, text):
            return await self._identify_other(u, text)
        if s.stage != Stage.IDLE:
            return await self._continue(u, text)
        return await self._start(u, text)

    # --- starting a task ---------------------------------------------------------

    async def _start(self, u: Understanding, text: str) -> Decision:
        s, p = self.state, self.policy
        if u.intent == Intent.OTHER or u.confidence < p.min_confidence:
            return self._misunderstood()
        s.misunderstood = 0
        if u.intent not in p.enabled:
            reason = "high-risk-use-case" if u.intent in HIGH_RISK else "use-case-disabled"
            return self._escalate(reason, t.HIGH_RISK)
        if u.intent == Intent.CLINIC_INFO:
            answer = self.kb.answer(text, u.slots.topic)
            return Decision(f"{answer} {t.ANYTHING_ELSE}" if answer else t.NO_INFO)
        if u.intent in SCHEDULING:
            s.task = u.intent
            if s.patient is None:
                s.stage = Stage.IDENTIFY
                return await self._identify(u, text, first=True)
            return await self._after_identity(u, text)
        return self._misunderstood()

    def _other(self, u: Understanding, text: str) -> bool:
        assert self.state.patient is not None
        today = self.now().date()
        return names_someone_else(text, u.slots.patient_name, self.state.patient, today)

    async def _identify_other(self, u: Understanding, text: str) -> Decision:
        """Another person named: the identified patient is dropped (and nothing of theirs
        is kept) and identity runs again before anything is looked up or changed."""
        s = self.state
        task = u.intent if u.intent in SCHEDULING else s.task
        s.reset_task()
        s.patient = None
        s.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "other-person"))
        if task is None:
            return await self._start(u, text)
        s.task, s.stage = task, Stage.IDENTIFY
        return await self._identify(u, text, first=True)

    # --- continuing a task -------------------------------------------------------

    async def _continue(self, u: Understanding, text: str) -> Decision:
        decision = await self._step(u, text)
        if decision.say not in (t.NOT_UNDERSTOOD, t.YES_OR_NO):
            self.state.misunderstood = 0  # only misunderstandings in a row escalate
        return decision

    async def _step(self, u: Understanding, text: str) -> Decision:
        stage = self.state.stage
        if stage == Stage.IDENTIFY:
            return await self._identify(u, text, first=False)
        if stage == Stage.CHOOSE_DAY:
            return await self._choose_day(u, text)
        if stage == Stage.CHOOSE_SLOT:
            return self._choose_slot(text)
        if stage == Stage.CONFIRM:
            return await self._confirm(text)
        if stage in MESSAGE_STAGES:
            return messages.step(self.state, text) or self._misunderstood(stay=True)
        return await self._confirm_cancel(text)

    def transfer_failed(self, outcome: str) -> Decision:
        """The transfer did not reach a human (outcome code): offer a message or callback."""
        return messages.failed(self.state, outcome)

    @property
    def provider_names(self) -> dict[str, str]:
        """Provider names looked up so far (for the handoff packet)."""
        return dict(self._providers)

    async def _identify(self, u: Understanding, text: str, first: bool) -> Decision:
        s = self.state
        if await self._caller_locked():
            return self._locked_out()
        name, dob = (
            full_name(text, u.slots.patient_name),
            birth_date(f"{u.slots.date_of_birth or ''} {text}"),
        )
        if name is None or dob is None:
            if first:
                return Decision(t.ASK_IDENTITY)
            return await self._identity_failed(checked=False)
        patient = await self.schedule.find_patient(name[0], name[1], dob)
        if patient is None:
            return await self._identity_failed(checked=True)
        s.patient = patient
        s.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "ok"))
        return await self._after_identity(u, text)

    async def _identity_failed(self, checked: bool) -> Decision:
        """A try failed; `checked`: a name and a date of birth were heard and looked up
        (only those count towards the lockout across calls)."""
        s = self.state
        s.identity_attempts += 1
        s.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "no-match"))
        if checked and self.lockouts and self.caller_key:
            now = self.now().timestamp()
            if await self.lockouts.failed(self.caller_key, self.call_id, now):
                return self._locked_out()
        if s.identity_attempts >= self.policy.max_identity_attempts:
            return self._escalate("identity-failed", t.IDENTITY_NOT_VERIFIED)
        return Decision(t.IDENTITY_AGAIN)

    async def _caller_locked(self) -> bool:
        if not (self.lockouts and self.caller_key):
            return False
        return await self.lockouts.locked(self.caller_key, self.now().timestamp())

    def _locked_out(self) -> Decision:
        """Too many failed identifications from this caller: a human takes over."""
        self.state.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "locked"))
        return self._escalate(LOCKED_REASON, t.IDENTITY_LOCKED)

    async def _after_identity(self, u: Understanding, text: str) -> Decision:
        s = self.state
        assert s.patient is not None
        if s.task == Intent.BOOK:
            s.stage = Stage.CHOOSE_DAY
            if without_birth_date(f"{u.slots.date or ''} {u.slots.time or ''}").strip():
                return await self._choose_day(u, text)
            return Decision(t.ASK_DAY)
        upcoming = await self.schedule.upcoming(s.patient.id)
        if not upcoming:
            s.reset_task()
            return Decision(f"{t.NO_APPOINTMENTS} {t.ANYTHING_ELSE}")
        first = upcoming[0]
        name = await self._provider(first.provider_id)
        if s.task == Intent.APPOINTMENT_STATUS:
            s.reset_task()
            return Decision(t.next_appointment(first.start, name))
        s.appointment = first
        if s.task == Intent.CANCEL:
            s.stage = Stage.CONFIRM_CANCEL
            return Decision(t.confirm_cancel(first.start, name))
        s.stage = Stage.CHOOSE_DAY
        return Decision(f"You have {t.when(first.start)} with {name}. {t.ASK_DAY}")

    async def _choose_day(self, u: Understanding, text: str) -> Decision:
        s = self.state
        spoken = " ".join(x for x in (u.slots.date, u.slots.time, text) if x)
        when = resolve(without_birth_date(spoken), self.now())
        type_id = s.appointment.type_id if s.appointment else self.policy.default_type
        query = SlotQuery(type_id, day=when.day, limit=self.policy.offer_count)
        if when.part_of_day:
            earliest, latest = PARTS_OF_DAY[when.part_of_day]
            query = SlotQuery(
                type_id,
                day=when.day,
                earliest=earliest,
                latest=latest,
                limit=self.policy.offer_count,
            )
        elif when.at is not None:
            query = SlotQuery(
                type_id, day=when.day, earliest=when.at, limit=self.policy.offer_count
            )
        slots = await self.schedule.find_slots(query)
        s.actions.append(ActionRecord(WorkflowAction.FIND_SLOTS, "ok" if slots else "none"))
        if not slots:
            return Decision(t.NO_SLOTS)
        s.offered, s.stage = slots, Stage.CHOOSE_SLOT
        names = [await self._provider(x.provider_id) for x in slots]
        return Decision(t.offer([(x.start, n) for x, n in zip(slots, names, strict=True)]))

    def _choose_slot(self, text: str) -> Decision:
        s = self.state
        chosen = _pick(s.offered, text)
        if chosen is None:
            return self._misunderstood(stay=True)
        s.chosen, s.stage = chosen, Stage.CONFIRM
        return Decision(t.confirm_booking(chosen.start, self._providers[chosen.provider_id]))

    async def _confirm(self, text: str) -> Decision:
        s = self.state
        answer = classify(text)
        if answer == Answer.NO:
            s.reset_task()
            return Decision(f"{t.OK_NOT_BOOKED} {t.ANYTHING_ELSE}")
        if answer == Answer.UNCLEAR:
            return self._misunderstood(say=t.YES_OR_NO)
        assert s.chosen is not None and s.patient is not None
        try:
            if s.appointment is not None:
                done = await self.schedule.reschedule(s.appointment.id, s.chosen)
                say = t.moved(done.start, self._providers[done.provider_id])
                s.actions.append(ActionRecord(WorkflowAction.RESCHEDULE, "ok"))
            else:
                done = await self.schedule.book(s.patient.id, s.chosen, None)
                say = t.booked(done.start, self._providers[done.provider_id])
                s.actions.append(ActionRecord(WorkflowAction.BOOK, "ok"))
        except SchedulingError as exc:
            s.actions.append(ActionRecord(WorkflowAction.BOOK, exc.code))
            s.stage = Stage.CHOOSE_DAY
            return Decision(t.SLOT_TAKEN if exc.code == "slot-taken" else t.NO_SLOTS)
        s.reset_task()
        return Decision(say)

    async def _confirm_cancel(self, text: str) -> Decision:
        s = self.state
        assert s.appointment is not None
        answer = classify(text)
        if answer == Answer.YES:
            done = await self.schedule.cancel(s.appointment.id)
            s.actions.append(ActionRecord(WorkflowAction.CANCEL, "ok"))
            s.reset_task()
            return Decision(t.cancelled(done.start))
        if answer == Answer.NO:
            s.reset_task()
            return Decision(f"{t.LEFT_AS_IT_IS} {t.ANYTHING_ELSE}")
        return self._misunderstood(say=t.YES_OR_NO)

    # --- helpers -----------------------------------------------------------------

    def _misunderstood(self, stay: bool = False, say: str = t.NOT_UNDERSTOOD) -> Decision:
        """Ask again (`say`: a vetted template); escalate after too many in a row."""
        s = self.state
        s.misunderstood += 1
        if s.misunderstood >= self.policy.max_misunderstood:
            return self._escalate("not-understood")
        return Decision(say)

    def _payment(self) -> Decision:
        """A card payment: the session's PCI pause takes the digits (or, with [pci] off,
        the front desk): nothing of it reaches the LLM or the store."""
        self.state.reset_task()
        self.state.actions.append(ActionRecord(WorkflowAction.PAYMENT, PAYMENT_REASON))
        return Decision(PAYMENT_SAY, transfer=PAYMENT_REASON, payment=True)

    def _escalate(self, reason: str, say: str = t.TRANSFER) -> Decision:
        self.state.actions.append(ActionRecord(WorkflowAction.TRANSFER, reason))
        return Decision(say, transfer=reason)

    async def _provider(self, provider_id: str) -> str:
        if not self._providers:
            self._providers = {p.id: p.name for p in await self.schedule.providers()}
        return self._providers.get(provider_id, "our clinician")


def _pick(offered: list[Slot], text: str) -> Slot | None:
    """The offered slot the caller chose: by time ("the 10:30"), by position, or "yes"."""
    if not offered:
        return None
    spoken = resolve(text, offered[0].start)
    if spoken.at is not None:
        return next((slot for slot in offered if slot.start.time() == spoken.at), None)
    lowered = text.lower()
    for word, index in _ORDINAL.items():
        if re.search(rf"\b{word}\b", lowered) and index < len(offered):
            return offered[index]
    if len(offered) == 1 and classify(text) == Answer.YES:
        return offered[0]
    return None

"""The workflow engine: one deterministic decision per caller turn.

The LLM (at most) named the intent; everything else is decided here, from the rules'
and parsers' reading of the caller's words, the dialogue state and the schedule. Inside
a flow a caller may ask a clinic question (answered, then the flow's question again),
change their mind ("actually, cancel it instead": the new task, identity kept) or ask
for something the appliance does not handle (the front desk).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.domain import WorkflowAction
from appliance.llm.understanding import Intent
from appliance.scheduling.model import Appointment, Patient, ScheduleBackend
from appliance.workflows import booking, messages, verify
from appliance.workflows import templates as t
from appliance.workflows.identity import names_someone_else
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.lockout import IdentityLockouts
from appliance.workflows.state import (
    REASK_NOT_UNDERSTOOD,
    REASK_YES_OR_NO,
    ActionRecord,
    Decision,
    DialogueState,
    Stage,
)
from appliance.workflows.understander import Understanding
from appliance.workflows.use_case_gate import UseCaseGate

SCHEDULING = (Intent.BOOK, Intent.RESCHEDULE, Intent.CANCEL, Intent.APPOINTMENT_STATUS)
HIGH_RISK = (Intent.REFILL, Intent.BILLING, Intent.TEST_RESULTS)
MESSAGE_STAGES = (Stage.OFFER_MESSAGE, Stage.TAKE_MESSAGE, Stage.TAKE_NUMBER)
# a billing request to pay (not a question about a bill): goes to the PCI pause
_PAY = re.compile(r"\b(pay|paying|payment|card)\b", re.I)
PAYMENT_REASON = "billing-payment"
PAYMENT_SAY = "I can help you pay securely."
CLEAR = 0.6  # confidence above which a new request inside a flow is taken as one
# inside a booking or a change, another scheduling task is taken only when it is named:
# "no, can you do tuesday instead" or "scratch that, a physical" answer the question
# asked; "actually, cancel my appointment" starts the cancel
_VISIT = r"(?:appointment|appt|visit|checkup|check up|physical|follow ?up|consult\w*|booking)"
_NAMED_TASK = {
    Intent.CANCEL: re.compile(r"\bcancel", re.I),
    Intent.RESCHEDULE: re.compile(
        rf"\breschedul|\b(?:move|change|push|switch|shift)\w*\b.{{0,30}}"
        rf"\b(?:my|the|his|her|our|their) (?:other |existing )?{_VISIT}",
        re.I,
    ),
    Intent.BOOK: re.compile(
        r"\b(?:book|schedule|make|set up) (?:a|an|another|a new|one more)\b|\bnew appointment",
        re.I,
    ),
    Intent.APPOINTMENT_STATUS: re.compile(r"\b(?:when|what time) (?:is|'s) (?:my|the)\b", re.I),
}
# a re-ask after a misunderstanding -> its code (the `asked-again` event's; proxy signals)
REPROMPT_CODES = {t.NOT_UNDERSTOOD: REASK_NOT_UNDERSTOOD, t.YES_OR_NO: REASK_YES_OR_NO}


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
    use_cases: UseCaseGate | None = None  # the live use cases; None: `policy.enabled`
    _providers: dict[str, str] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(self.tz)

    async def turn(self, u: Understanding, text: str) -> Decision:
        decision = await self._decide(u, text)
        s = self.state
        if s.stage not in (Stage.IDLE, *MESSAGE_STAGES) and not decision.transfer:
            s.prompt = decision.say
        return decision

    async def _decide(self, u: Understanding, text: str) -> Decision:
        s = self.state
        if u.intent == Intent.EMERGENCY:
            s.flags.add("emergency")
            s.actions.append(ActionRecord(WorkflowAction.EMERGENCY, "instructed"))
            say = t.EMERGENCY.format(number=self.policy.emergency_number)
            return Decision(say, end_call=True, flags=("emergency",))
        if s.stage not in MESSAGE_STAGES:  # in those, no human was free a moment ago
            if u.wants_human or u.intent == Intent.SPEAK_TO_PERSON:
                return self.escalate("caller-request")
            if self.use_cases is not None and (await self.use_cases.live()).agent_killed:
                s.reset_task()
                return self.escalate("agent-killed")
            if u.intent == Intent.BILLING and _PAY.search(text) and await self._may_pay():
                return self._payment()
        if u.intent == Intent.GOODBYE and s.stage in (Stage.IDLE, Stage.CHOOSE_DAY):
            return Decision(t.GOODBYE, end_call=True)
        if s.patient is not None and s.stage not in MESSAGE_STAGES and self._other(u, text):
            return await self._identify_other(u, text)
        if s.stage in (Stage.IDLE, *MESSAGE_STAGES):
            return await (self._start(u, text) if s.stage == Stage.IDLE else self._message(text))
        aside = await self._aside(u, text)
        return aside or await self._continue(u, text)

    # --- starting a task ---------------------------------------------------------

    async def _start(self, u: Understanding, text: str) -> Decision:
        s, p = self.state, self.policy
        if u.intent in (Intent.OTHER, Intent.INFORM) or u.confidence < p.min_confidence:
            return self.misunderstood()
        s.misunderstood = 0
        if not await self._enabled(u.intent):
            gated = self.use_cases is None and u.intent in HIGH_RISK
            return self.escalate(
                "high-risk-use-case" if gated else "use-case-disabled", t.HIGH_RISK
            )
        if u.intent == Intent.CLINIC_INFO:
            answer = self.kb.answer(text, u.said.topic)
            return Decision(f"{answer} {t.ANYTHING_ELSE}" if answer else t.NO_INFO)
        if u.intent in SCHEDULING:
            s.task, s.wanted = u.intent, u.said
            if s.patient is None:
                s.stage = Stage.IDENTIFY
                return await verify.identify(self, u, text, first=True)
            return await self.after_identity(u, text)
        return self.misunderstood()

    async def _aside(self, u: Understanding, text: str) -> Decision | None:
        """Inside a flow: a clinic question, a change of mind or another request."""
        s = self.state
        if u.confidence < CLEAR or u.intent in (Intent.INFORM, Intent.OTHER, s.task):
            return None
        if u.intent == Intent.CLINIC_INFO and (answer := self.kb.answer(text, u.said.topic)):
            return Decision(f"{answer} {t.BACK_TO_IT} {s.prompt}".strip())
        if (
            u.intent in SCHEDULING
            and s.task in SCHEDULING
            and not _NAMED_TASK[u.intent].search(text)
        ):
            return None  # an answer said with a change word: the task goes on
        if (u.intent in SCHEDULING and s.stage != Stage.IDENTIFY) or u.intent in HIGH_RISK:
            s.reset_task()
            return await self._start(u, text)
        return None

    async def _may_pay(self) -> bool:
        """A card payment (the PCI pause) is the billing use case's: live, or no use cases."""
        return self.use_cases is None or await self._enabled(Intent.BILLING)

    async def _enabled(self, intent: Intent) -> bool:
        """Whether the agent handles `intent` now: its use case is live (pilot or
        production), or without use cases (engine tests), the policy enables it."""
        if intent in (Intent.GOODBYE, Intent.OTHER):
            return True
        if self.use_cases is None:
            return intent in self.policy.enabled
        return intent.value in (await self.use_cases.live()).intents

    def _other(self, u: Understanding, text: str) -> bool:
        assert self.state.patient is not None
        today = self.now().date()
        name = " ".join(u.said.name) if u.said.name else None
        return names_someone_else(text, name, self.state.patient, today)

    async def _identify_other(self, u: Understanding, text: str) -> Decision:
        """Another person named: the identified patient is dropped (and nothing of theirs
        is kept) and identity runs again before anything is looked up or changed."""
        s = self.state
        task = u.intent if u.intent in SCHEDULING else s.task
        s.reset_task()
        s.patient = None
        s.forget_identity_heard()
        s.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "other-person"))
        if task is None:
            return await self._start(u, text)
        s.task, s.stage, s.wanted = task, Stage.IDENTIFY, u.said
        return await verify.identify(self, u, text, first=True)

    # --- continuing a task -------------------------------------------------------

    async def _continue(self, u: Understanding, text: str) -> Decision:
        decision = await self._step(u, text)
        if decision.say not in (t.NOT_UNDERSTOOD, t.YES_OR_NO):
            self.state.misunderstood = 0  # only misunderstandings in a row escalate
        return decision

    async def _step(self, u: Understanding, text: str) -> Decision:
        stage = self.state.stage
        if stage == Stage.IDENTIFY:
            return await verify.identify(self, u, text, first=False)
        if stage == Stage.CHOOSE_DAY:
            return await booking.choose_day(self, u)
        if stage == Stage.CHOOSE_SLOT:
            return await booking.choose_slot(self, u, text)
        if stage == Stage.CONFIRM:
            return await booking.confirm(self, text)
        return await booking.confirm_cancel(self, text)

    async def _message(self, text: str) -> Decision:
        return messages.step(self.state, text) or self.misunderstood(stay=True)

    async def move_for(
        self, patient: Patient, appointment: Appointment, u: Understanding
    ) -> Decision:
        """Start the reschedule flow for a patient identified elsewhere (a reminder call,
        where the callee said who they are) and one appointment of theirs: from the day
        question, or the offers when `u` names a day. The use case gate holds as for any
        request (not live: the front desk)."""
        s = self.state
        s.reset_task()
        s.patient = patient
        if not await self._enabled(Intent.RESCHEDULE):
            return self.escalate("use-case-disabled", t.HIGH_RISK)
        s.task, s.wanted, s.appointment = Intent.RESCHEDULE, u.said, appointment
        s.stage = Stage.CHOOSE_DAY
        decision = await booking.choose_day(self, u) if u.said.has_when else Decision(t.ASK_DAY)
        s.prompt = decision.say
        return decision

    async def after_identity(self, u: Understanding, text: str) -> Decision:
        return await booking.after_identity(self, u)

    def transfer_failed(self, outcome: str) -> Decision:
        """The transfer did not reach a human (outcome code): offer a message or callback."""
        return messages.failed(self.state, outcome)

    @property
    def provider_names(self) -> dict[str, str]:
        """Provider names looked up so far (for the handoff packet)."""
        return dict(self._providers)

    # --- helpers -----------------------------------------------------------------

    def misunderstood(self, stay: bool = False, say: str = t.NOT_UNDERSTOOD) -> Decision:
        """Ask again (`say`: a vetted template); escalate after too many in a row."""
        s = self.state
        s.misunderstood += 1
        if s.misunderstood >= self.policy.max_misunderstood:
            return self.escalate("not-understood")
        return Decision(say, reprompt=REPROMPT_CODES.get(say, REASK_NOT_UNDERSTOOD))

    def _payment(self) -> Decision:
        """A card payment: the session's PCI pause takes the digits (or, with [pci] off,
        the front desk): nothing of it reaches the LLM or the store."""
        self.state.reset_task()
        self.state.actions.append(ActionRecord(WorkflowAction.PAYMENT, PAYMENT_REASON))
        return Decision(PAYMENT_SAY, transfer=PAYMENT_REASON, payment=True)

    def escalate(self, reason: str, say: str = t.TRANSFER) -> Decision:
        self.state.actions.append(ActionRecord(WorkflowAction.TRANSFER, reason))
        return Decision(say, transfer=reason)

    async def provider(self, provider_id: str) -> str:
        if not self._providers:
            self._providers = {p.id: p.name for p in await self.schedule.providers()}
        return self._providers.get(provider_id, "our clinician")

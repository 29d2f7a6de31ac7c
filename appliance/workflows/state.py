"""The dialogue state a workflow keeps between turns (also the core of the handoff packet)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from appliance.domain import WorkflowAction
from appliance.llm.understanding import Intent
from appliance.scheduling.model import Appointment, Patient, Slot
from appliance.workflows.names import HeardName
from appliance.workflows.said import Said


class Stage(enum.StrEnum):
    IDLE = "idle"
    IDENTIFY = "identify"
    CHOOSE_DAY = "choose-day"
    CHOOSE_SLOT = "choose-slot"
    CONFIRM = "confirm"
    CONFIRM_CANCEL = "confirm-cancel"
    OFFER_MESSAGE = "offer-message"  # the transfer failed: a message or a callback?
    TAKE_MESSAGE = "take-message"
    TAKE_NUMBER = "take-number"


@dataclass(frozen=True, slots=True)
class ActionRecord:
    action: WorkflowAction
    outcome: str  # "ok" or a reason code
    ref: str | None = None  # the appointment id it booked/moved/cancelled (opaque)


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """A message the caller left (PHI: body and number); stored by the agent."""

    reason: str  # code: why it was taken (the failed transfer's outcome)
    callback_number: str | None  # digits as the caller said them
    body: str

    @property
    def kind(self) -> str:
        return "callback" if self.callback_number else "message"


# the codes of a re-ask after a misunderstanding (Decision.reprompt; event `asked-again`)
REASK_NOT_UNDERSTOOD = "not-understood"
REASK_YES_OR_NO = "yes-or-no"
REASK_IDENTITY = "identity"
REASKS = (REASK_NOT_UNDERSTOOD, REASK_YES_OR_NO, REASK_IDENTITY)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the session does after a caller turn."""

    say: str
    transfer: str | None = None  # escalation reason code
    end_call: bool = False
    flags: tuple[str, ...] = ()
    message: MessageDraft | None = None  # to be stored now
    payment: bool = False  # card payment: the PCI pause, never the LLM (else `transfer`)
    reprompt: str | None = None  # not understood, asked again: which re-ask (a fixed code)


@dataclass(slots=True)
class DialogueState:
    task: Intent | None = None
    stage: Stage = Stage.IDLE
    patient: Patient | None = None
    identity_attempts: int = 0
    identity_turns: int = 0  # turns of this task spent on identity
    unheard: int = 0  # identity turns in a row with no name or birth date heard
    misunderstood: int = 0
    offered: list[Slot] = field(default_factory=list)
    chosen: Slot | None = None
    appointment: Appointment | None = None  # the one being changed
    actions: list[ActionRecord] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    message_reason: str = ""  # why a message is being taken (transfer outcome)
    message_body: str = ""  # PHI: kept only until the message is stored
    # identity heard so far, over turns (PHI): cleared once looked up
    heard_name: HeardName = field(default_factory=HeardName)
    heard_dob: date | None = None
    wanted: Said | None = None  # the details said with the request (day, provider, type)
    prompt: str = ""  # the flow's last question, asked again after a question aside

    def reset_task(self) -> None:
        self.task, self.stage = None, Stage.IDLE
        self.offered, self.chosen, self.appointment = [], None, None
        self.message_reason, self.message_body = "", ""
        self.wanted, self.prompt = None, ""
        self.identity_turns = 0

    def forget_identity_heard(self) -> None:
        self.heard_name, self.heard_dob = HeardName(), None

"""Identity before anything personal: a full name and a date of birth, gathered over as
many turns as the caller needs, then one lookup.

What was heard is carried across turns (the name now, the birth date next), a missing
part is asked for by name, and a correction ("no, it's Gonzales with an s") replaces
what it corrects. Until a lookup is made the words are the same whether or not such a
patient exists; a failed lookup counts towards the per-call limit and the lockout across
calls; what was heard stays, so the caller can correct one part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.domain import WorkflowAction
from appliance.workflows import templates as t
from appliance.workflows.identity import HeardName, birth_date, corrected, heard_name
from appliance.workflows.lockout import LOCKED_REASON
from appliance.workflows.names import corrects, similarity
from appliance.workflows.state import REASK_IDENTITY, ActionRecord, Decision

MAX_IDENTITY_TURNS = 5  # turns spent on identity in one task before the front desk

if TYPE_CHECKING:
    from appliance.workflows.engine import WorkflowEngine
    from appliance.workflows.understander import Understanding


async def identify(e: WorkflowEngine, u: Understanding, text: str, first: bool) -> Decision:
    """One turn of identification; `first`: the turn that started the task."""
    s = e.state
    if await _caller_locked(e):
        return locked_out(e)
    new = _take_heard(e, u, text, first)
    name, dob = s.heard_name.pair(), s.heard_dob
    s.identity_turns += 1
    if s.identity_turns > MAX_IDENTITY_TURNS:  # a part keeps missing: a human takes over
        return e.escalate("identity-failed", t.IDENTITY_NOT_VERIFIED)
    if not new:
        if first:
            return Decision(t.ASK_IDENTITY)
        s.unheard += 1
        if s.unheard >= e.policy.max_identity_attempts:
            return await identity_failed(e, checked=False)
        return Decision(t.ASK_IDENTITY_AGAIN, reprompt=REASK_IDENTITY)
    if name is None:
        return Decision(t.ASK_FULL_NAME)
    if dob is None:
        return Decision(t.ASK_BIRTH_DATE)
    patient = await e.schedule.find_patient(name[0], name[1], dob)
    if patient is None:
        return await identity_failed(e, checked=True)
    s.forget_identity_heard()
    s.patient, s.unheard = patient, 0
    s.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "ok"))
    return await e.after_identity(u, text)


def _take_heard(e: WorkflowEngine, u: Understanding, text: str, first: bool) -> bool:
    """Add this turn's name and birth date to what was heard (a correction replaces, a
    later part wins); whether anything new was heard. What a failed lookup was made
    with stays: the caller may correct just one part ("it's seventy five, not six").
    In the request itself, the patient it names comes first ("this is carla jimenez,
    calling for my son mateo jimenez": Mateo, not the caller)."""
    s = e.state
    named = HeardName(*u.said.name) if first and u.said.name else None
    name = named or answered_name(text, s.heard_name)
    if name is not None:
        s.heard_name = name
    dob = u.said.dob or birth_date(text, e.now().date())
    if dob is not None:
        s.heard_dob = dob
    return name is not None or dob is not None


def _one_part(current: HeardName, got: HeardName | None) -> HeardName | None:
    """`got` over `current`; once both parts are heard, one word alone ("no, it's
    gonzalez with a z") replaces the part it resembles, not the first name."""
    if got is None or not current.complete or got.complete:
        return current.merge(got) if got is not None else None
    word = got.first or got.last or ""
    if similarity(word, current.last or "") >= similarity(word, current.first or ""):
        return HeardName(current.first, word)
    return HeardName(word, current.last)


async def identity_failed(e: WorkflowEngine, checked: bool) -> Decision:
    """A try failed; `checked`: a name and a date of birth were heard and looked up
    (only those count towards the lockout across calls)."""
    s = e.state
    s.identity_attempts += 1
    s.unheard = 0
    s.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "no-match"))
    if checked and e.lockouts and e.caller_key:
        now = e.now().timestamp()
        if await e.lockouts.failed(e.caller_key, e.call_id, now):
            return locked_out(e)
    if s.identity_attempts >= e.policy.max_identity_attempts:
        return e.escalate("identity-failed", t.IDENTITY_NOT_VERIFIED)
    return Decision(t.IDENTITY_AGAIN)


async def _caller_locked(e: WorkflowEngine) -> bool:
    if not (e.lockouts and e.caller_key):
        return False
    return await e.lockouts.locked(e.caller_key, e.now().timestamp())


def locked_out(e: WorkflowEngine) -> Decision:
    """Too many failed identifications from this caller: a human takes over."""
    e.state.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "locked"))
    return e.escalate(LOCKED_REASON, t.IDENTITY_LOCKED)


def answered_name(text: str, current: HeardName) -> HeardName | None:
    """The name heard so far (`current`) with this answer's words over it: a correction
    ("no, thompson with a p"), a spelling, a missing part, or a whole name; None when the
    answer holds no name."""
    heard_before = bool(current.first or current.last)
    fixed = corrected(text, current) if heard_before or corrects(text) else None
    return fixed or _one_part(current, heard_name(text, current.missing or "first"))


def heard_in_answer(text: str) -> tuple[str | None, str | None]:
    """The name in a first answer to "your full name and date of birth?", read as the
    identity step reads it ((None, None): none)."""
    name = answered_name(text, HeardName())
    return (name.first, name.last) if name else (None, None)

"""Identity before anything personal: a full name and a date of birth, gathered over as
many turns as the caller needs, then one lookup.

What was heard is carried across turns (the name now, the birth date next), a missing
part is asked for by name, and a correction ("no, it's Gonzales with an s") replaces
what it corrects. Until a lookup is made the words are the same whether or not such a
patient exists; a failed lookup counts towards the per-call limit and the lockout across
calls, and clears what was heard so the next try starts clean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.domain import WorkflowAction
from appliance.workflows import templates as t
from appliance.workflows.identity import birth_date, full_name
from appliance.workflows.lockout import LOCKED_REASON
from appliance.workflows.state import ActionRecord, Decision, Stage

if TYPE_CHECKING:
    from appliance.workflows.engine import WorkflowEngine
    from appliance.workflows.understander import Understanding


async def identify(e: WorkflowEngine, u: Understanding, text: str, first: bool) -> Decision:
    """One turn of identification; `first`: the turn that started the task."""
    s = e.state
    if await _caller_locked(e):
        return locked_out(e)
    _take_heard(e, u, text)
    (given, family), dob = s.heard_name, s.heard_dob
    if given is None and family is None and dob is None:
        if first:
            return Decision(t.ASK_IDENTITY)
        s.unheard += 1
        if s.unheard >= e.policy.max_identity_attempts:
            return await identity_failed(e, checked=False)
        return Decision(t.ASK_IDENTITY_AGAIN)
    if given is None or family is None:
        return Decision(t.ASK_FULL_NAME)
    if dob is None:
        return Decision(t.ASK_BIRTH_DATE)
    patient = await e.schedule.find_patient(given, family, dob)
    s.forget_identity_heard()
    if patient is None:
        return await identity_failed(e, checked=True)
    s.patient, s.unheard = patient, 0
    s.actions.append(ActionRecord(WorkflowAction.IDENTIFY, "ok"))
    return await e.after_identity(u, text)


def _take_heard(e: WorkflowEngine, u: Understanding, text: str) -> None:
    """Add this turn's name and birth date to what was heard (a correction replaces)."""
    s = e.state
    answering = s.stage == Stage.IDENTIFY
    name = _interim_name(text, s.heard_name, answering)
    if name is not None:
        s.heard_name = name
    dob = u.said.dob or birth_date(text)
    if dob is not None:
        s.heard_dob = dob


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


_FILLERS = set(
    """uh um er yes yeah yep sure ok okay it's its is this my name name's i'm i am and
    the born on date of birth dob hi hello it was first last""".split()  # noqa: SIM905
)


def heard_in_answer(text: str) -> tuple[str | None, str | None]:
    """The name in an answer to "your full name and date of birth?" ((None, None): none)."""
    return _interim_name(text, (None, None), True) or (None, None)


def _interim_name(
    text: str, heard: tuple[str | None, str | None], answering: bool
) -> tuple[str | None, str | None] | None:
    import re

    from appliance.workflows.identity import without_birth_date

    said = full_name(text)
    if said is not None or not answering:
        return said
    words = [
        w
        for w in re.findall(r"[a-z][a-z'\-]*", without_birth_date(text).lower())
        if w not in _FILLERS
    ]
    if 2 <= len(words) <= 3:
        return words[0].title(), words[-1].title()
    if len(words) == 1 and heard[0] and not heard[1]:
        return heard[0], words[0].title()
    return None

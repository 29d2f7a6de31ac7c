"""The scheduling steps after identity: a day, the offered times, the read-back, the
confirmation; and cancelling. Slots, times and providers come only from the backend.

Details the caller gave with the request ("a physical with Doctor Alvarez next
Tuesday") are carried in `state.wanted` and used when the flow reaches them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time
from typing import TYPE_CHECKING

from appliance.domain import WorkflowAction
from appliance.errors import SchedulingError
from appliance.llm.understanding import Intent
from appliance.scheduling.dates import PARTS_OF_DAY, Resolved, resolve
from appliance.scheduling.model import Slot, SlotQuery
from appliance.workflows import templates as t
from appliance.workflows.answers import Answer, classify
from appliance.workflows.state import ActionRecord, Decision, Stage

if TYPE_CHECKING:
    from appliance.workflows.engine import WorkflowEngine
    from appliance.workflows.understander import Understanding

# the outcome of a read-back the caller said no to (a book, reschedule or cancel event's
# code; appliance/quality/rules_proxy.py counts them as caller corrections)
CALLER_DECLINED = "caller-declined"
_ORDINAL = {"first": 0, "earlier": 0, "earliest": 0, "second": 1, "later": 1, "last": -1}


async def after_identity(e: WorkflowEngine, u: Understanding) -> Decision:
    s = e.state
    assert s.patient is not None
    if s.task == Intent.BOOK:
        s.stage = Stage.CHOOSE_DAY
        wanted = s.wanted.when if s.wanted else None
        if u.said.has_when or (wanted and _any(wanted)):
            return await choose_day(e, u)
        return Decision(t.ASK_DAY)
    upcoming = await e.schedule.upcoming(s.patient.id)
    if not upcoming:
        s.reset_task()
        return Decision(f"{t.NO_APPOINTMENTS} {t.ANYTHING_ELSE}")
    first = upcoming[0]
    name = await e.provider(first.provider_id)
    if s.task == Intent.APPOINTMENT_STATUS:
        s.reset_task()
        return Decision(t.next_appointment(first.start, name))
    s.appointment = first
    if s.task == Intent.CANCEL:
        s.stage = Stage.CONFIRM_CANCEL
        return Decision(t.confirm_cancel(first.start, name))
    if s.wanted is not None and s.wanted.when.day == first.start.astimezone(e.tz).date():
        # "i can't make it on wednesday": the day being moved away from, never one to offer
        s.wanted = replace(s.wanted, when=replace(s.wanted.when, day=None))
    s.stage = Stage.CHOOSE_DAY
    return Decision(f"You have {t.when(first.start)} with {name}. {t.ASK_DAY}")


def _when(e: WorkflowEngine, u: Understanding) -> Resolved:
    """This turn's day and time; what the request said fills what this turn leaves out."""
    now, wanted = u.said.when, e.state.wanted.when if e.state.wanted else None
    if wanted is None or _any(now):
        return now
    return wanted


def _any(when: Resolved) -> bool:
    return when.said


def _query(e: WorkflowEngine, u: Understanding) -> SlotQuery:
    s, when = e.state, _when(e, u)
    wanted = s.wanted
    type_id = (
        s.appointment.type_id
        if s.appointment
        else (wanted and wanted.appointment_type) or e.policy.default_type
    )
    provider = u.said.provider or (wanted.provider if wanted else None)
    earliest, latest = PARTS_OF_DAY[when.part_of_day] if when.part_of_day else (when.at, None)
    if when.from_time:  # "after 5", "in the evening after 5"
        earliest = max(earliest, when.from_time) if earliest else when.from_time
    if when.until:  # "before eleven"
        latest = min(latest, when.until) if latest else when.until
    after = datetime.combine(when.after, time(0), e.tz) if when.after else None
    return SlotQuery(
        type_id,
        provider_id=provider,
        day=when.day,
        not_before=after,
        earliest=earliest,
        latest=latest,
        limit=e.policy.offer_count,
    )


async def choose_day(e: WorkflowEngine, u: Understanding) -> Decision:
    s = e.state
    slots = await e.schedule.find_slots(_query(e, u))
    s.actions.append(ActionRecord(WorkflowAction.FIND_SLOTS, "ok" if slots else "none"))
    if not slots:
        return Decision(t.NO_SLOTS)
    s.offered, s.stage = slots, Stage.CHOOSE_SLOT
    names = [await e.provider(x.provider_id) for x in slots]
    return Decision(t.offer([(x.start, n) for x, n in zip(slots, names, strict=True)]))


async def choose_slot(e: WorkflowEngine, u: Understanding, text: str) -> Decision:
    s = e.state
    chosen = pick(s.offered, text)
    if chosen is None and (u.said.when.day or u.said.provider):
        return await choose_day(e, u)  # another day or provider instead
    if chosen is None:
        return e.misunderstood(stay=True)
    s.chosen, s.stage = chosen, Stage.CONFIRM
    return Decision(t.confirm_booking(chosen.start, await e.provider(chosen.provider_id)))


async def confirm(e: WorkflowEngine, text: str) -> Decision:
    s = e.state
    answer = classify(text)
    if answer == Answer.NO:  # a correction after the read-back (post-call proxy signal)
        action = WorkflowAction.RESCHEDULE if s.appointment is not None else WorkflowAction.BOOK
        s.actions.append(ActionRecord(action, CALLER_DECLINED))
        s.reset_task()
        return Decision(f"{t.OK_NOT_BOOKED} {t.ANYTHING_ELSE}")
    if answer == Answer.UNCLEAR:
        return e.misunderstood(say=t.YES_OR_NO)
    assert s.chosen is not None and s.patient is not None
    try:
        if s.appointment is not None:
            done = await e.schedule.reschedule(s.appointment.id, s.chosen)
            say = t.moved(done.start, await e.provider(done.provider_id))
            s.actions.append(ActionRecord(WorkflowAction.RESCHEDULE, "ok", done.id))
        else:
            done = await e.schedule.book(s.patient.id, s.chosen, e.call_id or None)
            say = t.booked(done.start, await e.provider(done.provider_id))
            s.actions.append(ActionRecord(WorkflowAction.BOOK, "ok", done.id))
    except SchedulingError as exc:
        s.actions.append(ActionRecord(WorkflowAction.BOOK, exc.code))
        s.stage = Stage.CHOOSE_DAY
        return Decision(t.SLOT_TAKEN if exc.code == "slot-taken" else t.NO_SLOTS)
    s.reset_task()
    return Decision(say)


async def confirm_cancel(e: WorkflowEngine, text: str) -> Decision:
    s = e.state
    assert s.appointment is not None
    answer = classify(text)
    if answer == Answer.YES:
        done = await e.schedule.cancel(s.appointment.id)
        s.actions.append(ActionRecord(WorkflowAction.CANCEL, "ok", done.id))
        s.reset_task()
        return Decision(t.cancelled(done.start))
    if answer == Answer.NO:  # a correction after the read-back
        s.actions.append(ActionRecord(WorkflowAction.CANCEL, CALLER_DECLINED))
        s.reset_task()
        return Decision(f"{t.LEFT_AS_IT_IS} {t.ANYTHING_ELSE}")
    return e.misunderstood(say=t.YES_OR_NO)


def pick(offered: list[Slot], text: str) -> Slot | None:
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

"""Conduct rules: task completion against the schedule, dead air, fillers and the
transfer's outcome. Each is a pure function of a call's recorded facts and parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.quality.facts import APPOINTMENT, CallFacts, Event, Turn, appointment_ref
from appliance.quality.result import FAIL, PASS, UNSURE, Result, not_applicable

Params = Mapping[str, Any]
TASKS = {"workflow-book": "book", "workflow-reschedule": "reschedule", "workflow-cancel": "cancel"}
WANTED = {"book": "booked", "reschedule": "booked", "cancel": "cancelled"}


def task_completed(facts: CallFacts, params: Params) -> Result:
    """Each appointment the call booked, moved or cancelled (workflow action ok) is in
    that state in the schedule now (a booking: also made by this call)."""
    done = [e for e in facts.of(*TASKS) if e.code == "ok"]
    if not done:
        return not_applicable("no-task-done")
    refs = facts.of(APPOINTMENT)
    unreferenced = [e for e in done if facts.after(e, APPOINTMENT) is None]
    if unreferenced or len(refs) < len(done):
        return Result(UNSURE, "no-appointment-ref", None, tuple(e.ref for e in unreferenced))
    wrong = [r for r in refs if not _in_schedule(facts, r)]
    score = (len(refs) - len(wrong)) / len(refs)
    if wrong:
        action, _ = appointment_ref(wrong[0])
        return Result(FAIL, f"{action}-not-in-schedule", score, tuple(r.ref for r in wrong))
    return Result(PASS, "in-schedule", score, tuple(e.ref for e in (*done, *refs)))


def _in_schedule(facts: CallFacts, ref: Event) -> bool:
    action, appointment_id = appointment_ref(ref)
    found = facts.appointments.get(appointment_id)
    if found is None or found.status != WANTED.get(action):
        return False
    return action != "book" or found.call_id == facts.call_id


def dead_air(facts: CallFacts, params: Params) -> Result:
    """Silences longer than `gap_s` while the agent owed speech (after the answer or the
    caller's speech, until the agent's audio): count and longest. Silences the caller
    owed (waiting for an answer), PCI pauses and the time after a transfer succeeded are
    not dead air."""
    sounds = _sounds(facts, float(params["filler_s"]))
    end = _measured_until(facts)
    owed_by_agent, cursor, gaps = True, facts.answered_at, []
    for start, stop, who, ref in sounds:
        if start >= end:
            break
        if start - cursor > float(params["gap_s"]) and owed_by_agent:
            gaps.append((start - cursor, ref))
        cursor = max(cursor, stop)
        if who != FILLER:  # after a filler, the agent still owes the reply
            owed_by_agent = who == CALLER
    if not gaps:
        return Result(PASS, "gaps:0", 0.0, ())
    longest = max(g for g, _ in gaps)
    evidence = tuple(ref for _, ref in gaps[:10] if ref)
    return Result(FAIL, f"gaps:{len(gaps)}", round(longest, 3), evidence)


Sound = tuple[float, float, str, str]  # start, end (UNIX s), whose, evidence ref
CALLER, AGENT, FILLER = "caller", "agent", "filler"


def _sounds(facts: CallFacts, filler_s: float) -> list[Sound]:
    """Who made sound when: turns (agent audio from its first frame out), fillers,
    caller speech without a turn, and the PCI pauses (neither side owes speech)."""
    sounds: list[Sound] = []
    previous_caller: Turn | None = None
    for turn in facts.turns:
        if turn.speaker == "caller":
            previous_caller = turn
            sounds.append((turn.started_at, turn.ended_at, CALLER, turn.ref))
            continue
        start = _agent_audio_start(facts, turn, previous_caller)
        sounds.append((start, max(start, turn.ended_at), AGENT, turn.ref))
    for event in facts.of("filler"):
        sounds.append((event.at, event.at + filler_s, FILLER, event.ref))
    for event in facts.of("not-heard", "speech-ignored", "barge-in"):
        sounds.append((event.at, event.at, CALLER, event.ref))
    for pause in facts.of("pci-pause-start"):
        end = facts.after(pause, "pci-pause-end")
        # then the agent owes the pause's end prompt
        sounds.append((pause.at, end.at if end else pause.at, CALLER, pause.ref))
    return sorted(sounds)


def _agent_audio_start(facts: CallFacts, turn: Turn, caller: Turn | None) -> float:
    """When the turn's first audio went out: its timings are relative to the end of the
    caller's speech (a reply) or to the answer (the greeting)."""
    out = turn.timings.get("first_audio_out")
    if out is None:
        return turn.started_at
    anchor = caller.ended_at if caller is not None else facts.answered_at
    return anchor + out


def _measured_until(facts: CallFacts) -> float:
    ended = facts.first("ended")
    until = ended.at if ended is not None else facts.ended_at or facts.started_at
    transferred = facts.first("transfer-ok")
    return min(until, transferred.at) if transferred is not None else until


def filler_count(facts: CallFacts, params: Params) -> Result:
    """Fillers ("One moment.") per spoken reply: at most `max_share` of the replies."""
    fillers = facts.of("filler")
    replies = facts.of("replied")
    if not replies and not fillers:
        return not_applicable("no-replies")
    reason = f"fillers:{len(fillers)},replies:{len(replies)}"
    evidence = tuple(e.ref for e in fillers[:10])
    if len(fillers) > float(params["max_share"]) * len(replies):
        return Result(FAIL, reason, float(len(fillers)), evidence)
    return Result(PASS, reason, float(len(fillers)), evidence)


def transfer_outcome(facts: CallFacts, params: Params) -> Result:
    """Each transfer reached a human (transfer-ok); a failed one fails with its code, one
    with no recorded result (no desk configured, the call ended on hold) is unsure."""
    requests = facts.of("transfer-requested")
    if not requests:
        return not_applicable("no-transfer")
    results = [facts.after(r, "transfer-ok", "transfer-failed") for r in requests]
    evidence = tuple(e.ref for e in (*requests, *results) if e is not None)
    ok = sum(1 for r in results if r is not None and r.kind == "transfer-ok")
    score = ok / len(requests)
    failed = [r for r in results if r is not None and r.kind == "transfer-failed"]
    if failed:
        return Result(FAIL, f"transfer-failed:{failed[0].code or 'unknown'}", score, evidence)
    if ok < len(requests):
        return Result(UNSURE, "no-transfer-result", score, evidence)
    whisper = facts.first("whisper-cut") or facts.first("whisper-skipped")
    reason = f"answered,{whisper.kind}" if whisper is not None else "answered"
    return Result(PASS, reason, score, evidence)

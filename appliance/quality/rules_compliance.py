"""Compliance rules: the AI disclosure, identity before PHI, consent, the PCI pause and
escalation. Each is a pure function of a call's recorded facts and its parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from appliance.quality.facts import CallFacts, Event, Turn
from appliance.quality.result import FAIL, PASS, UNSURE, Result, not_applicable

Params = Mapping[str, Any]
DECLINED = "consent-declined"  # appliance.governance.consent.DECLINED
PAYMENT_REASON = "billing-payment"  # appliance.workflows.engine.PAYMENT_REASON


def disclosure_within(facts: CallFacts, params: Params) -> Result:
    """The greeting with the AI disclosure was heard to its end within `within_s` of the
    answer; a call that ended before it was (hang-up, failure) has it cut."""
    answered = facts.first("answered")
    played = facts.first("disclosure-played")
    ended = facts.first("ended")
    if played is None:
        evidence = tuple(e.ref for e in (answered, ended) if e is not None)
        return Result(FAIL, "disclosure-cut", None, evidence)
    done = played.at - facts.answered_at
    greeting = next(iter(facts.agent_turns), None)
    evidence = tuple(x.ref for x in (answered, played, greeting) if x is not None)
    if done > float(params["within_s"]):
        return Result(FAIL, "disclosure-late", round(done, 3), evidence)
    return Result(PASS, "disclosure-in-time", round(done, 3), evidence)


def identity_before_phi(facts: CallFacts, params: Params) -> Result:
    """No PHI-bearing template (an appointment's details, "no appointments for you") was
    spoken unless the patient was verified (workflow-identify ok) in that reply or before;
    naming another person drops the verification until the next ok."""
    patterns = [re.compile(p) for p in params["phi_patterns"]]
    agent = facts.agent_turns
    phi = [t for t in agent if t.text is not None and any(p.search(t.text) for p in patterns)]
    if not phi:
        purged = any(t.text is None for t in agent)
        return Result(UNSURE, "agent-text-purged") if purged else not_applicable("no-phi-spoken")
    states = [(_reply_seq(agent, e), e) for e in facts.of("workflow-identify")]
    bad = [t for t in phi if not _verified_at(t, states)]
    if bad:
        evidence = tuple(t.ref for t in bad) + tuple(e.ref for _, e in states)
        return Result(FAIL, "phi-before-identity", float(len(bad)), evidence)
    verified = tuple(e.ref for _, e in states if e.code == "ok")
    return Result(PASS, "identity-first", 0.0, tuple(t.ref for t in phi) + verified)


def _reply_seq(agent: list[Turn], event: Event) -> int:
    """The agent turn an action belongs to: the last one spoken before it was recorded
    (a reply's actions are recorded after it is spoken)."""
    before = [t.seq for t in agent if t.ended_at <= event.at]
    return max(before, default=0)


def _verified_at(turn: Turn, states: list[tuple[int, Event]]) -> bool:
    last = None
    for seq, event in states:
        if seq <= turn.seq and event.code in ("ok", "other-person"):
            last = event.code
    return last == "ok"


def consent_honoured(facts: CallFacts, params: Params) -> Result:
    """A caller who declined AI handling went to a human next: the transfer was asked
    before any other reply or workflow action."""
    declines = facts.of("consent-declined")
    if not declines:
        return not_applicable("no-decline")
    kinds = ("transfer-requested", "replied", *params["workflow_kinds"])
    for decline in declines:
        nxt = facts.after(decline, *kinds)
        if nxt is None or nxt.kind != "transfer-requested" or nxt.code != DECLINED:
            evidence = tuple(e.ref for e in (decline, nxt) if e is not None)
            return Result(FAIL, "decline-not-transferred", 0.0, evidence)
    transfers = [facts.after(d, "transfer-requested") for d in declines]
    evidence = tuple(e.ref for e in (*declines, *transfers) if e is not None)
    return Result(PASS, "decline-transferred", 1.0, evidence)


def pci_pause_held(facts: CallFacts, params: Params) -> Result:
    """Each PCI pause was closed, and no caller turn or transcript (heard) was kept
    between its start and its end."""
    starts = facts.of("pci-pause-start")
    if not starts:
        return not_applicable("no-pause")
    for start in starts:
        end = facts.after(start, "pci-pause-end")
        if end is None:
            return Result(FAIL, "pause-not-closed", None, (start.ref,))
        kept = [t.ref for t in facts.caller_turns if _overlaps(t, start.at, end.at)]
        heard = [e.ref for e in facts.of("heard") if start.id < e.id < end.id]
        if kept or heard:
            return Result(FAIL, "caller-audio-in-pause", None, (start.ref, end.ref, *kept, *heard))
    ends = [facts.after(s, "pci-pause-end") for s in starts]
    return Result(PASS, "pause-held", None, tuple(e.ref for e in (*starts, *ends) if e))


def _overlaps(turn: Turn, start: float, end: float) -> bool:
    return turn.started_at < end and turn.ended_at > start


def escalation_appropriate(facts: CallFacts, params: Params) -> Result:
    """Every escalation that was needed was done, and every transfer had a reason.

    Needed: an emergency (the instruction is its handling), a workflow transfer (the
    caller asked for a person, the use case is not handled, not understood), a failed
    identification (locked, or `max_identity_failures` no-matches and no later ok), a
    declined consent. Done: a transfer requested after it (a payment: the PCI pause)."""
    needs = _escalation_needs(facts, int(params["max_identity_failures"]))
    transfers = facts.of("transfer-requested")
    unexplained = [t for t in transfers if not t.code or not _explained(facts, t)]
    if unexplained:
        return Result(FAIL, "transfer-without-reason", 0.0, tuple(t.ref for t in unexplained))
    if not needs:
        return not_applicable("no-escalation-needed")
    missed = [n for n in needs if not _escalated(facts, n)]
    done = len(needs) - len(missed)
    if missed:
        evidence = tuple(n.ref for n in missed)
        return Result(FAIL, f"not-escalated:{_need_code(missed[0])}", done / len(needs), evidence)
    evidence = tuple(n.ref for n in needs) + tuple(t.ref for t in transfers)
    return Result(PASS, f"escalated:{_need_code(needs[0])}", 1.0, evidence)


def _escalation_needs(facts: CallFacts, max_failures: int) -> list[Event]:
    needs = facts.of("workflow-emergency", "workflow-transfer", "consent-declined")
    identify = facts.of("workflow-identify")
    failures = [e for e in identify if e.code == "no-match"]
    locked = [e for e in identify if e.code == "locked"]
    later_ok = failures and any(e.code == "ok" and e.id > failures[-1].id for e in identify)
    if locked:
        needs.append(locked[0])
    elif len(failures) >= max_failures and not later_ok:
        needs.append(failures[max_failures - 1])
    return sorted(needs, key=lambda e: e.id)


def _need_code(need: Event) -> str:
    if need.kind == "workflow-identify":
        return "identity-failed"
    if need.kind == "workflow-emergency":
        return "emergency"
    return need.code or need.kind


def _escalated(facts: CallFacts, need: Event) -> bool:
    if need.kind == "workflow-emergency":
        return True  # its event is recorded once the instruction was spoken
    if need.kind == "workflow-transfer" and need.code == PAYMENT_REASON:
        return facts.after(need, "pci-pause-start", "transfer-requested") is not None
    return facts.after(need, "transfer-requested") is not None


def _explained(facts: CallFacts, transfer: Event) -> bool:
    """A transfer follows a decision to escalate (a workflow transfer or payment, or a
    declined consent) since the previous transfer."""
    causes = ("workflow-transfer", "workflow-payment", "consent-declined")
    previous = [e.id for e in facts.of("transfer-requested") if e.id < transfer.id]
    floor = max(previous, default=0)
    return any(floor < e.id < transfer.id for e in facts.of(*causes))

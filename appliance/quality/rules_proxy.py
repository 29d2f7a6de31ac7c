"""Proxy signals of recognition trouble, for the calls no reviewer corrected (WER needs a
correction; these need nothing but the store): per ended call,

- low-confidence caller turns: Whisper's avg logprob of the turn (turns.stt_confidence,
  the value the quality audio sample compares with [quality] audio_low_logprob) below
  `low_logprob`. Word probabilities are not recorded, so turns are counted, not words;
- re-prompts: the agent asked again because it heard nothing usable (`reprompt`: the
  caller was silent; `not-heard`: a turn without words) or did not understand what it
  heard (`asked-again`, coded not-understood / yes-or-no / identity by the workflows);
- caller corrections: the caller said no to a read-back (a book, reschedule or cancel
  event with the code `caller-declined`, appliance/workflows/booking.py).

The verdict is pass while every count is at or under its `max_*` parameter, else unsure
(a call for a human look, never a fail: each signal also has innocent causes); n/a for a
call without caller turns or re-prompts. The score is the sum of the three counts; the
reason code names each, "low-confidence:N,reprompts:N,corrections:N" (the digest adds
them up, `parse_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.quality.facts import CallFacts
from appliance.quality.result import PASS, UNSURE, Result, not_applicable

NAME = "proxy-signals"
SIGNALS = ("low-confidence", "reprompts", "corrections")  # the reason's keys, in order
REPROMPTS = ("reprompt", "not-heard", "asked-again")
CORRECTED = ("workflow-book", "workflow-reschedule", "workflow-cancel")
CALLER_DECLINED = "caller-declined"  # appliance.workflows.booking.CALLER_DECLINED
PARAMS: Mapping[str, float] = {
    "low_logprob": -0.7,  # the default of [quality] audio_low_logprob
    "max_low_confidence": 1,
    "max_reprompts": 1,
    "max_corrections": 0,
}


def proxy_signals(facts: CallFacts, params: Mapping[str, Any]) -> Result:
    """The three counts (see the module's text) as score, reason and evidence."""
    low_logprob = float(params["low_logprob"])
    low = [
        t
        for t in facts.caller_turns
        if t.stt_confidence is not None and t.stt_confidence < low_logprob
    ]
    asked = facts.of(*REPROMPTS)
    corrected = [e for e in facts.of(*CORRECTED) if e.code == CALLER_DECLINED]
    if not facts.caller_turns and not asked:
        return not_applicable("no-caller-turns")
    counts = (len(low), len(asked), len(corrected))
    limits = (params["max_low_confidence"], params["max_reprompts"], params["max_corrections"])
    over = any(n > float(limit) for n, limit in zip(counts, limits, strict=True))
    reason = ",".join(f"{k}:{n}" for k, n in zip(SIGNALS, counts, strict=True))
    evidence = tuple([t.ref for t in low] + [e.ref for e in (*asked, *corrected)])[:10]
    return Result(UNSURE if over else PASS, reason, float(sum(counts)), evidence)


def parse_counts(reason: str) -> dict[str, int] | None:
    """The counts of a proxy-signals reason code; None when it is not one."""
    found: dict[str, int] = {}
    for part in reason.split(","):
        key, _, value = part.partition(":")
        if key not in SIGNALS or not value.isdigit():
            return None
        found[key] = int(value)
    return found if set(found) == set(SIGNALS) else None

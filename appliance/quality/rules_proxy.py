"""Proxy signals of recognition trouble, for the calls no reviewer corrected (WER needs a
correction; these need nothing but the store): per ended call,

- low-confidence caller turns: Whisper's avg logprob of the turn (turns.stt_confidence)
  below `low_logprob`, which follows [quality] audio_low_logprob (the bound the quality
  audio sample uses; evaluators.evaluators_for);
- low-confidence words, only where `[stt] word_confidence` counted them: the caller
  turns' words Whisper gave a probability below `[stt] low_word_probability` (a count per
  turn in turns.timings, `stt_low_words`; the words are never stored);
- re-prompts: the agent asked again because it heard nothing usable (`reprompt`: the
  caller was silent; `not-heard`: a turn without words) or did not understand what it
  heard (`asked-again`, coded not-understood / yes-or-no / identity by the workflows);
- caller corrections: the caller said no to a read-back (a book, reschedule or cancel
  event with the code `caller-declined`, appliance/workflows/booking.py).

The verdict is pass while every count is at or under its `max_*` parameter, else unsure
(a call for a human look, never a fail: each signal also has innocent causes); n/a for a
call without caller turns or re-prompts. The score is the sum of the turn, re-prompt and
correction counts; the reason code names each, "low-confidence:N,reprompts:N,
corrections:N", plus ",low-words:N" when words were counted (the digest and the
/metrics gauges add them up, `parse_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.domain import LOW_WORDS
from appliance.quality.facts import CallFacts, Turn
from appliance.quality.result import PASS, UNSURE, Result, not_applicable

NAME = "proxy-signals"
SIGNALS = ("low-confidence", "reprompts", "corrections")  # the reason's keys, in order
WORDS = "low-words"  # the optional fourth key: words counted ([stt] word_confidence)
REPROMPTS = ("reprompt", "not-heard", "asked-again")
CORRECTED = ("workflow-book", "workflow-reschedule", "workflow-cancel")
CALLER_DECLINED = "caller-declined"  # appliance.workflows.booking.CALLER_DECLINED
PARAMS: Mapping[str, float] = {
    "low_logprob": -0.7,  # [quality] audio_low_logprob's default (evaluators_for: the setting)
    "max_low_confidence": 1,
    "max_reprompts": 1,
    "max_corrections": 0,
    "max_low_words": 2,
}


def proxy_signals(facts: CallFacts, params: Mapping[str, Any]) -> Result:
    """The counts (see the module's text) as score, reason and evidence."""
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
    words = low_words(facts.caller_turns)
    if words is not None:
        over = over or words > float(params["max_low_words"])
        reason += f",{WORDS}:{words}"
    evidence = tuple([t.ref for t in low] + [e.ref for e in (*asked, *corrected)])[:10]
    return Result(UNSURE if over else PASS, reason, float(sum(counts)), evidence)


def low_words(turns: list[Turn]) -> int | None:
    """The low-probability words counted in the caller turns; None: none was counted."""
    found = [t.timings.get(LOW_WORDS) for t in turns]
    counted = [int(n) for n in found if n is not None]
    return sum(counted) if counted else None


def parse_counts(reason: str) -> dict[str, int] | None:
    """The counts of a proxy-signals reason code (low-words only where counted); None
    when it is not one."""
    found: dict[str, int] = {}
    for part in reason.split(","):
        key, _, value = part.partition(":")
        if key not in (*SIGNALS, WORDS) or not value.isdigit():
            return None
        found[key] = int(value)
    return found if set(SIGNALS) <= set(found) else None

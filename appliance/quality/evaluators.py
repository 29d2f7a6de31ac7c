"""The deterministic evaluators: a name, a rule, its parameters, and a version that is
a hash of the rule's source (with the helpers it names) and the parameters, so that a
changed rule or threshold scores again under a new version (old rows stay)."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from appliance.config_quality import Quality
from appliance.quality import rules_compliance as c
from appliance.quality import rules_conduct as d
from appliance.quality import rules_proxy as p
from appliance.quality.facts import CallFacts
from appliance.quality.result import UNSURE, Result

Rule = Callable[[CallFacts, Mapping[str, Any]], Result]


@dataclass(frozen=True)
class Evaluator:
    name: str
    rule: Rule
    params: Mapping[str, Any] = field(default_factory=dict)
    helpers: tuple[Callable[..., Any], ...] = ()  # whose source is part of the version

    @cached_property
    def version(self) -> str:
        parts = [inspect.getsource(f) for f in (self.rule, *self.helpers)]
        parts.append(json.dumps(self.params, sort_keys=True, default=list))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def evaluate(self, facts: CallFacts) -> Result:
        """The rule's result; a rule that breaks on odd facts says unsure (coded)."""
        try:
            return self.rule(facts, self.params)
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            return Result(UNSURE, f"evaluator-error:{type(exc).__name__}")


# the PHI-bearing replies of appliance.workflows.templates (a test keeps them in step)
PHI_PATTERNS = (
    r"You're booked for ",
    r"You have .+ Shall I cancel it\?",
    r"Your appointment on .+ is cancelled\.",
    r"Your appointment is now ",
    r"Your next appointment is ",
    r"I don't see any upcoming appointments for you\.",
)
WORKFLOW_KINDS = (
    "workflow-identify",
    "workflow-find-slots",
    "workflow-book",
    "workflow-reschedule",
    "workflow-cancel",
    "workflow-payment",
    "workflow-transfer",
    "workflow-offer-message",
    "workflow-take-message",
    "workflow-emergency",
)

DEFAULT_EVALUATORS: tuple[Evaluator, ...] = (
    Evaluator("ai-disclosure-within-10s", c.disclosure_within, {"within_s": 10.0}),
    Evaluator(
        "identity-before-phi",
        c.identity_before_phi,
        {"phi_patterns": PHI_PATTERNS},
        (c._reply_seq, c._verified_at),
    ),
    Evaluator("consent-honoured", c.consent_honoured, {"workflow_kinds": WORKFLOW_KINDS}),
    Evaluator("pci-pause-held", c.pci_pause_held, {}, (c._overlaps,)),
    Evaluator(
        "escalation-appropriateness",
        c.escalation_appropriate,
        {"max_identity_failures": 2},
        (c._escalation_needs, c._need_code, c._escalated, c._explained),
    ),
    Evaluator("task-completion", d.task_completed, {}, (d._in_schedule,)),
    Evaluator(
        "dead-air",
        d.dead_air,
        {"gap_s": 5.0, "filler_s": 1.0},
        (d._sounds, d._agent_audio_start, d._measured_until),
    ),
    Evaluator("filler-count", d.filler_count, {"max_share": 0.5}),
    Evaluator("transfer-outcome", d.transfer_outcome, {}),
    Evaluator(p.NAME, p.proxy_signals, p.PARAMS, (p.low_words,)),
)


def evaluators_for(quality: Quality) -> tuple[Evaluator, ...]:
    """The default evaluators with the configured thresholds: the proxy signals' low
    confidence turn is one below `[quality] audio_low_logprob` (as for the audio sample)."""
    params = {**p.PARAMS, "low_logprob": quality.audio_low_logprob}
    return tuple(replace(e, params=params) if e.name == p.NAME else e for e in DEFAULT_EVALUATORS)

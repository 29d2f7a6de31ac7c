"""What an evaluator says about one call."""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, UNSURE, NA = "pass", "fail", "unsure", "n/a"


@dataclass(frozen=True, slots=True)
class Result:
    verdict: str  # pass | fail | unsure | n/a
    reason: str  # a short code (never caller words)
    score: float | None = None
    evidence: tuple[str, ...] = ()  # "turn:<seq>", "event:<id>"


def not_applicable(reason: str) -> Result:
    return Result(NA, reason)

"""The LLM judge: what rules cannot see (was the caller's goal met; the caller's
sentiment at the start and at the end), asked of the local model once per call.

The call's transcript (caller and agent words) is read from the encrypted store and
given to the model in-process only; the verdict rows hold only pass / fail / unsure, a
score, a reason code from a fixed list and evidence turn ids, never words. The model's
answer is constrained to a JSON schema of enums and one integer, and is validated again
here: anything else is `judge-bad-output` (unsure).

The model sits behind `JudgeModel` (a Protocol) so that unit tests use a fake. The
version of every judge evaluator is a hash of the prompt, the schema and the model's
name: a changed prompt or model scores again under a new version (old rows stay).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from appliance.domain import ChatMessage
from appliance.quality.result import FAIL, NA, PASS, UNSURE, Result
from appliance.store.db import Connection

GOAL = "judge-goal-met"
SENTIMENT_START = "judge-sentiment-start"
SENTIMENT_END = "judge-sentiment-end"
CRITERIA = (GOAL, SENTIMENT_START, SENTIMENT_END)
# criteria whose agreement with the labelled set (bench/judge_agreement.py) is under 80%:
# advisory, they never feed a phase gate (docs/quality.md). Kept equal to the newest
# bench/results/judge_agreement-*.json by a test.
# 2026-12-06, qwen2.5-coder-0.5b on 2 CPU cores: 50% / 75% / 64%: all three advisory.
ADVISORY: frozenset[str] = frozenset({"judge-goal-met", "judge-sentiment-start",
                                      "judge-sentiment-end"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class JudgeCriterion:
    name: str
    advisory: bool  # measured under 80% agreement: reported, never a gate's input


JUDGE_EVALUATORS = tuple(JudgeCriterion(c, c in ADVISORY) for c in CRITERIA)


def feeds_gate(evaluator: str) -> bool:
    """Whether an evaluator's verdicts may feed a phase gate (an advisory one may not)."""
    return evaluator not in ADVISORY


PROMPT = """You review a finished phone call between a clinic's voice agent and a caller.
Lines are "[turn id] speaker: words". Answer with JSON only:
- "goal_met": "yes" if the caller got what they called for (appointment booked, moved or
  cancelled; question answered; message taken; put through to a person; told to call
  911 in an emergency). "no" if the agent said it could not help, found nothing, could
  not verify the caller or could not reach anyone, or the caller gave up. "unclear" if
  the call is too short or garbled to tell what the caller wanted.
- "goal_turn": the turn id that best shows it (0 if none).
- "sentiment_start": the mood of the caller's first line: "positive" (friendly, glad),
  "neutral" (plain request), "negative" (angry, upset, frustrated, scared) or "unclear"
  (too short or garbled to tell).
- "sentiment_end": the mood of the caller's last line, same values."""


MOODS = ["positive", "neutral", "negative", "unclear"]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "goal_met": {"type": "string", "enum": ["yes", "no", "unclear"]},
        "goal_turn": {"type": "integer"},
        "sentiment_start": {"type": "string", "enum": MOODS},
        "sentiment_end": {"type": "string", "enum": MOODS},
    },
    "required": ["goal_met", "goal_turn", "sentiment_start", "sentiment_end"],
    "additionalProperties": False,
}

_GOAL = {
    "yes": Result(PASS, "goal-met", 1.0),
    "no": Result(FAIL, "goal-not-met", 0.0),
    "unclear": Result(UNSURE, "goal-unclear", 0.5),
}
_MOOD = {
    "positive": Result(PASS, "sentiment-positive", 1.0),
    "neutral": Result(PASS, "sentiment-neutral", 0.5),
    "negative": Result(FAIL, "sentiment-negative", 0.0),
    "unclear": Result(UNSURE, "sentiment-unclear", None),
}
BAD_OUTPUT = Result(UNSURE, "judge-bad-output")


class JudgeModel(Protocol):
    """A language model that answers one prompt with JSON constrained to a schema."""

    @property
    def model_name(self) -> str: ...

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
        """Blocking (the scoring job's own thread); raises ChatModelError."""
        ...


@dataclass(frozen=True, slots=True)
class Line:
    seq: int
    speaker: str  # "caller" | "agent"
    text: str  # PHI: in memory only, never logged or stored elsewhere


def judge_version(model_name: str) -> str:
    """A hash of the prompt, the answer's schema and the model's name."""
    parts = (PROMPT, json.dumps(SCHEMA, sort_keys=True), model_name)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def render(lines: Sequence[Line]) -> str:
    return "\n".join(f"[{line.seq}] {line.speaker}: {line.text}" for line in lines)


def messages_for(lines: Sequence[Line]) -> list[ChatMessage]:
    """The prompt, then the call and (for a small model's sake) the caller's first and
    last lines again."""
    callers = [line.text for line in lines if line.speaker == "caller"]
    call = render(lines)
    if callers:
        call += f"\n\nCaller's first line: {callers[0]}\nCaller's last line: {callers[-1]}"
    return [ChatMessage("system", PROMPT), ChatMessage("user", call)]


def judge(model: JudgeModel, lines: Sequence[Line]) -> dict[str, Result]:
    """Each criterion's result for one transcript (raises ChatModelError from the model).

    No caller line: every criterion is n/a (`no-caller-speech`)."""
    callers = [line for line in lines if line.speaker == "caller"]
    if not callers:
        return {c: Result(NA, "no-caller-speech") for c in CRITERIA}
    raw = model.complete_json(messages_for(lines), SCHEMA)
    answer = parse_answer(raw)
    if answer is None:
        return dict.fromkeys(CRITERIA, BAD_OUTPUT)
    seqs = {line.seq for line in lines}
    turn = answer["goal_turn"]
    goal = _GOAL[answer["goal_met"]]
    start, end = _MOOD[answer["sentiment_start"]], _MOOD[answer["sentiment_end"]]
    return {
        GOAL: _with(goal, (turn,) if turn in seqs else ()),
        SENTIMENT_START: _with(start, (callers[0].seq,)),
        SENTIMENT_END: _with(end, (callers[-1].seq,)),
    }


def parse_answer(raw: str) -> Mapping[str, Any] | None:
    """The model's answer if it is exactly what the schema allows; None otherwise."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(answer, dict) or set(answer) != set(SCHEMA["required"]):
        return None
    turn = answer["goal_turn"]
    if not isinstance(turn, int) or isinstance(turn, bool):
        return None
    if answer["goal_met"] not in _GOAL:
        return None
    if answer["sentiment_start"] not in _MOOD or answer["sentiment_end"] not in _MOOD:
        return None
    return answer


def _with(result: Result, turns: tuple[int, ...]) -> Result:
    return Result(result.verdict, result.reason, result.score, tuple(f"turn:{t}" for t in turns))


def load_transcript(conn: Connection, call_id: str) -> list[Line] | None:
    """The call's turns with their words (None: a turn's text was purged)."""
    rows = conn.execute(
        "SELECT seq, speaker, text, purged_at FROM turns WHERE call_id = ? ORDER BY seq",
        (call_id,),
    ).fetchall()
    if any(r[3] is not None for r in rows):
        return None
    return [Line(int(r[0]), str(r[1]), str(r[2])) for r in rows]

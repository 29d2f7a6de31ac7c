"""The LLM judge: what rules cannot see (was the caller's goal met; the caller's
sentiment at the start and at the end), asked of the local model after each call as one
short question per criterion, each after the same fixed prompt.

The call's transcript (caller and agent words) is read from the encrypted store and
given to the model in-process only: the whole call for the goal, only the caller's first
or last line for a mood. The verdict rows hold only pass / fail / unsure, a score, a
reason code from a fixed list and evidence turn ids, never words. Each answer is
constrained to its own JSON schema (an enum; the goal adds a turn id) and is validated
again here: anything else is `judge-bad-output` (unsure) for that criterion.

The model sits behind `JudgeModel` (a Protocol) so that unit tests use a fake. The
version of every judge evaluator is a hash of the prompt, the questions, the schemas and
the model's name: a changed prompt or model scores again under a new version (old rows
stay).
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
# 2026-12-06, qwen2.5-coder-0.5b on 2 CPU cores, one JSON for all: 50% / 75% / 64%; one
# question per criterion (judge_agreement-20261206T134356Z.json): 75% / 75% / 77%: all
# three still advisory.
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
You are asked one question about it; answer with JSON only.

Question "goal": did the caller get what they called for? Read the whole call, above all
what the agent said last.
- "yes": the agent did it: booked, moved or cancelled the appointment; sent the refill;
  answered the question; took a message; put the caller through to a person; or, in an
  emergency, told the caller to call 911.
- "no": the agent could not do it: no free appointment, no answer to the question,
  could not verify the caller, nobody to put them through to, kept misunderstanding;
  or the caller gave up or hung up unhappy before it was done.
- "unclear": the caller never said what they wanted (only noise, a cut-off word).
Examples:
- agent: "I've booked you for Monday at 10." -> "yes"
- agent: "I'm sorry, I don't have that information." -> "no"
- agent: "Sorry, there are no appointments left this week." -> "no"
- agent: "I couldn't find your record, so I can't change it." -> "no"
- caller: "[static]" agent: "Sorry, I didn't catch that." -> "unclear"

Question "mood": the caller's mood in one line of theirs.
- "positive": friendly, glad, thankful ("Great, thanks a lot!").
- "neutral": a plain request or a plain goodbye ("I need to book a visit.", "Ok, bye.").
- "negative": angry, annoyed, upset, worried, scared or disappointed ("This is a joke.",
  "I'm really worried.", "Forget it.").
- "unclear": no real words to judge: noise, silence, a cut-off fragment ("[noise]", "Uh").
"""

GOAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "goal": {"type": "string", "enum": ["yes", "no", "unclear"]},
        "turn": {"type": "integer"},
    },
    "required": ["goal", "turn"],
    "additionalProperties": False,
}
MOODS = ["positive", "neutral", "negative", "unclear"]
MOOD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"mood": {"type": "string", "enum": MOODS}},
    "required": ["mood"],
    "additionalProperties": False,
}
SCHEMAS = {GOAL: GOAL_SCHEMA, SENTIMENT_START: MOOD_SCHEMA, SENTIMENT_END: MOOD_SCHEMA}

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


GOAL_QUESTION = (
    'Question "goal": did the caller get what they called for? Answer'
    ' {"goal": "yes" | "no" | "unclear", "turn": the turn id that shows it (0 if none)}.'
)
MOOD_QUESTION = 'Question "mood": the caller\'s mood in this line? Answer {"mood": ...}.'


def judge_version(model_name: str) -> str:
    """A hash of the prompt, the questions, the answers' schemas and the model's name."""
    schemas = json.dumps([SCHEMAS[c] for c in CRITERIA], sort_keys=True)
    parts = (PROMPT, GOAL_QUESTION, MOOD_QUESTION, schemas, model_name)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def render(lines: Sequence[Line]) -> str:
    return "\n".join(f"[{line.seq}] {line.speaker}: {line.text}" for line in lines)


def messages_for(criterion: str, lines: Sequence[Line]) -> list[ChatMessage]:
    """One question: the fixed prompt (the same for every question, so the server reuses
    its cached prefix), then the whole call for the goal, or only the caller's first or
    last line for a mood."""
    if criterion == GOAL:
        agent = [line for line in lines if line.speaker == "agent"]
        last = f"\nThe agent's last line: {agent[-1].text}" if agent else ""
        user = f"The call:\n{render(lines)}\n{last}\n\n{GOAL_QUESTION}"
    else:
        callers = [line for line in lines if line.speaker == "caller"]
        start = criterion == SENTIMENT_START
        which, line = ("first", callers[0]) if start else ("last", callers[-1])
        user = f'The caller\'s {which} line: "{line.text}"\n\n{MOOD_QUESTION}'
    return [ChatMessage("system", PROMPT), ChatMessage("user", user)]


def judge(model: JudgeModel, lines: Sequence[Line]) -> dict[str, Result]:
    """Each criterion's result for one transcript, one question each (raises
    ChatModelError from the model). No caller line: every criterion is n/a
    (`no-caller-speech`); an answer outside its schema is `judge-bad-output`."""
    callers = [line for line in lines if line.speaker == "caller"]
    if not callers:
        return {c: Result(NA, "no-caller-speech") for c in CRITERIA}
    seqs = {line.seq for line in lines}
    out: dict[str, Result] = {}
    for criterion in CRITERIA:
        raw = model.complete_json(messages_for(criterion, lines), SCHEMAS[criterion])
        answer = parse_answer(criterion, raw)
        if answer is None:
            out[criterion] = BAD_OUTPUT
        elif criterion == GOAL:
            turn = answer["turn"]
            out[GOAL] = _with(_GOAL[answer["goal"]], (turn,) if turn in seqs else ())
        else:
            said = callers[0] if criterion == SENTIMENT_START else callers[-1]
            out[criterion] = _with(_MOOD[answer["mood"]], (said.seq,))
    return out


def parse_answer(criterion: str, raw: str) -> Mapping[str, Any] | None:
    """The model's answer to one question if it is exactly what its schema allows."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(answer, dict) or set(answer) != set(SCHEMAS[criterion]["required"]):
        return None
    if criterion != GOAL:
        return answer if answer["mood"] in _MOOD else None
    turn = answer["turn"]
    if not isinstance(turn, int) or isinstance(turn, bool) or answer["goal"] not in _GOAL:
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

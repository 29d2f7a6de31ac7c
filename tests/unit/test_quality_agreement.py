"""The judge's labelled set and the agreement measure (fake models at the JudgeModel seam),
and the advisory flag kept equal to the newest measurement with the real local model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from appliance.config import load_settings
from appliance.domain import ChatMessage
from appliance.errors import ChatModelError
from appliance.governance.gate_metrics import COMPLIANCE_EVALUATORS
from appliance.quality import judge as j
from appliance.quality.agreement import LABEL_KEYS, Labelled, load_set, measure

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SET = ROOT / "tests" / "assets" / "quality" / "judge_set.toml"
TUNE = ROOT / "tests" / "assets" / "quality" / "judge_tune.toml"
GOAL_ANSWER = {"pass": "yes", "fail": "no", "unsure": "unclear"}
MOOD_ANSWER = {"pass": "neutral", "fail": "negative", "unsure": "unclear"}


class Oracle:
    """Answers each question with its label (the question's text identifies it; a line
    said in several calls must carry the same mood label in all of them)."""

    model_name = "oracle"

    def __init__(self, records: Sequence[Labelled]) -> None:
        self.by_text: dict[str, str] = {}
        for r in records:
            for criterion in j.CRITERIA:
                asked = j.messages_for(criterion, r.lines)[1].content
                label = r.labels[criterion]
                assert self.by_text.setdefault(asked, label) == label, (r.id, criterion)

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
        label = self.by_text[messages[1].content]
        if schema == j.GOAL_SCHEMA:
            return json.dumps({"goal": GOAL_ANSWER[label], "turn": 1})
        return json.dumps({"mood": MOOD_ANSWER[label]})


class Constant:
    model_name = "constant"

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
        if schema == j.GOAL_SCHEMA:
            return json.dumps({"goal": "yes", "turn": 0})
        return json.dumps({"mood": "neutral"})


class Down:
    model_name = "down"

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
        raise ChatModelError("llm-unreachable", "down")


@pytest.fixture(scope="module", params=[SET, TUNE], ids=["judge_set", "judge_tune"])
def records(request: pytest.FixtureRequest) -> list[Labelled]:
    return load_set(request.param)


def test_the_tuning_set_is_separate_from_the_scored_set() -> None:
    scored, tune = load_set(SET), load_set(TUNE)
    assert len(tune) >= 40 and not {r.id for r in scored} & {r.id for r in tune}
    said = {line.text for r in scored for line in r.lines if line.speaker == "caller"}
    shared = {line.text for r in tune for line in r.lines if line.speaker == "caller"} & said
    assert not shared  # no caller line of the scored set is tuned on


def test_the_set_has_at_least_40_calls_with_every_label_used(records: list[Labelled]) -> None:
    assert len(records) >= 40
    assert len({r.id for r in records}) == len(records)
    for r in records:
        assert any(line.speaker == "caller" for line in r.lines), r.id
        assert set(r.labels) == set(LABEL_KEYS)
    for criterion in LABEL_KEYS:
        used = {r.labels[criterion] for r in records}
        assert used == {"pass", "fail", "unsure"}, criterion


def test_an_oracle_agrees_fully(records: list[Labelled]) -> None:
    report = measure(Oracle(records), records)
    assert {c: r["agreement"] for c, r in report["criteria"].items()} == dict.fromkeys(
        LABEL_KEYS, 1.0
    )
    assert report["advisory"] == [] and report["errors"] == []


def test_a_constant_judge_agrees_with_the_pass_labels_only(records: list[Labelled]) -> None:
    report = measure(Constant(), records)
    for criterion, r in report["criteria"].items():
        passes = sum(1 for rec in records if rec.labels[criterion] == "pass")
        assert r["agreement"] == round(passes / len(records), 4)
        assert len(r["misses"]) == len(records) - passes
        assert r["confusion"]["pass->pass"] == passes
    assert report["advisory"] == sorted(LABEL_KEYS)  # none reaches 80%


def test_a_model_that_fails_counts_as_disagreement(records: list[Labelled]) -> None:
    report = measure(Down(), records[:3])
    assert report["errors"] == [f"{r.id}:llm-unreachable" for r in records[:3]]
    assert all(r["agreement"] == 0.0 for r in report["criteria"].values())


def test_the_advisory_flag_is_the_newest_measurement_of_this_prompt_and_model() -> None:
    results = sorted((ROOT / "bench" / "results").glob("judge_agreement-*.json"))
    assert results, "run bench/judge_agreement.py"
    newest = json.loads(results[-1].read_text("utf-8"))
    model = load_settings(None).llm.server.model
    assert newest["model"] == model and newest["calls"] >= 60
    assert newest["judge_version"] == j.judge_version(model)  # the prompt measured
    assert sorted(j.ADVISORY) == newest["advisory"]
    assert sorted(c.name for c in j.JUDGE_EVALUATORS if c.advisory) == newest["advisory"]


def test_advisory_criteria_never_feed_a_gate() -> None:
    assert not set(COMPLIANCE_EVALUATORS) & j.ADVISORY
    for criterion in j.JUDGE_EVALUATORS:
        assert j.feeds_gate(criterion.name) is not criterion.advisory

"""The simulation's pure parts: the shipped dialogues (labelled, in step with the tuned
set of tests/assets/understanding/), the verdict of one dialogue, the threshold at its
edge and the evidence (counts, ids and codes, never the callers' words)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from appliance.errors import GovernanceError
from appliance.governance import simulation as sim
from appliance.governance.use_cases import BUILT_IN
from tests.dialogue_runner import ASSETS

pytestmark = pytest.mark.unit
# the tuned set expects these to meet the high-risk gate (killed there); live, the desk
RELABELLED = {"refill-high-risk", "results-high-risk"}


def test_the_shipped_dialogues_are_the_tuned_ones_labelled() -> None:
    shipped = sim.load_dialogues()
    tuned = tomllib.loads((ASSETS / "dialogues_tune.toml").read_text("utf-8"))
    assert shipped.reference_now == tuned["reference_now"]
    by_id = {d.id: d for d in shipped.dialogues}
    assert list(by_id) == [d["id"] for d in tuned["dialogue"]]
    for d in tuned["dialogue"]:
        mine = by_id[d["id"]]
        assert mine.turns == tuple(d["turns"]), d["id"]
        if d["id"] in RELABELLED:
            assert mine.expect == {"outcome": "transferred"}
        else:
            assert mine.expect == d["expect"], d["id"]
    labels = {d.use_case for d in shipped.dialogues}
    assert labels == {c.id for c in BUILT_IN} | {sim.SAFETY}
    assert len(shipped.of("scheduling")) == 22 and len(shipped.of("clinic-information")) == 6


def test_an_unlabelled_dialogue_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text(
        '[[dialogue]]\nid = "x"\nturns = ["hi"]\n[dialogue.expect]\noutcome = "ended"\n'
    )
    with pytest.raises(GovernanceError) as err:
        sim.load_dialogues(path)
    assert err.value.code == "simulation-unlabelled"


def dialogue(**expect: object) -> sim.Dialogue:
    return sim.Dialogue("d", "scheduling", ("Maria Gonzalez",), dict(expect))


def test_each_dialogue_is_reached_escalated_or_failed() -> None:
    booked = dialogue(outcome="booked", patient="synthetic-01")
    assert sim.judge(booked, {"outcome": "booked", "patient": "synthetic-01", "x": 1}) == (
        sim.Result("d", "reached", "booked")
    )
    wrong = sim.judge(booked, {"outcome": "booked", "patient": "synthetic-02"})
    assert (wrong.verdict, wrong.missed) == ("failed", ("patient",))
    desk = sim.judge(booked, {"outcome": "transferred", "reason": "identity-failed"})
    assert (desk.verdict, desk.outcome) == ("escalated", "transferred")
    paid = sim.judge(booked, {"outcome": "payment"})
    assert paid.verdict == "escalated"
    reason = sim.judge(dialogue(outcome="transferred", reason="caller-request"),
                       {"outcome": "transferred", "reason": "not-understood"})  # fmt: skip
    assert (reason.verdict, reason.missed) == ("escalated", ("reason",))


def report(reached: int, of: int, threshold: float = 0.9) -> sim.Report:
    results = tuple(
        sim.Result(f"d{i}", "reached" if i < reached else "failed", "x") for i in range(of)
    )
    return sim.Report("scheduling", threshold, "a" * 64, results)


def test_the_threshold_at_its_edge() -> None:
    assert report(9, 10).passed and report(9, 10).rate == 0.9
    assert not report(8, 10).passed
    assert report(8, 10, threshold=0.8).passed
    assert not report(0, 0).passed and report(0, 0).rate is None  # nothing ran: no pass
    assert report(1, 1).passed


def test_the_evidence_is_counts_and_codes_hashed() -> None:
    r = sim.Report("scheduling", 0.9, "a" * 64, (
        sim.Result("a", "reached", "booked"), sim.Result("b", "escalated", "transferred",
                                                         ("reason",)),
        sim.Result("c", "failed", "llm-timeout"),
    ))  # fmt: skip
    body = r.as_dict()
    assert (body["run"], body["reached"], body["escalated"], body["failed"]) == (3, 1, 1, 1)
    assert body["passed"] is False and body["dialogues"] == "a" * 64
    assert body["sha256"] == r.sha256() and len(r.sha256()) == 64
    assert json.loads(r.evidence()) == {k: v for k, v in body.items() if k != "sha256"}
    assert r.evidence() == sim.Report(r.use_case, 0.9, "a" * 64, r.results).evidence()
    assert "Maria" not in r.evidence()

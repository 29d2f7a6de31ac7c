"""The scenario files of `appliance simulate SCENARIOS`: the shipped starter suite loads,
each kind of bad file is a coded error naming the line, and pass^k needs every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.cli.simulate import STARTER
from appliance.errors import SimulationError
from appliance.governance.use_cases import BUILT_IN
from appliance.simulate.judge import Outcome, Run, SuiteResult, p90, said
from appliance.simulate.scenario import Persona, StoreAction, load, load_file

pytestmark = pytest.mark.unit

GOOD = """\
use_case: scheduling
scenarios:
  - id: book-one
    persona: {length_scale: 1.2, noise_db: -40, hesitations: true}
    turns:
      - say: "I'd like to book a checkup."
      - dtmf: "1#"
    expect:
      intent: book
      store: {action: booked, patient: synthetic-03}
      transfer: {reason: caller-request}
      says: ["date of birth"]
      never_says: ["card number"]
      reply_gap_p90_s: 6
      tolerate: [filler-count]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_loads_into_dataclasses(tmp_path: Path) -> None:
    [s] = load_file(write(tmp_path, GOOD))
    assert (s.id, s.use_case, s.source) == ("book-one", "scheduling", "s.yaml")
    assert s.persona == Persona(1.2, -40.0, True)
    assert [(t.say, t.dtmf) for t in s.turns] == [
        ("I'd like to book a checkup.", None),
        (None, "1#"),
    ]
    assert s.expect.store == StoreAction("booked", "synthetic-03")
    assert (s.expect.transfer, s.expect.transfer_reason) == (True, "caller-request")
    assert s.expect.reply_gap_p90_s == 6.0 and s.expect.tolerate == ("filler-count",)
    assert s.lines == ("I'd like to book a checkup.", "[keys 1#]")


def test_the_starter_suite_covers_every_built_in_use_case() -> None:
    scenarios = load([STARTER])
    for case in BUILT_IN:
        mine = [s for s in scenarios if s.use_case == case.id]
        assert 2 <= len(mine) <= 4, case.id


BAD = [
    ("scenarios: [\n  - id: x\n    turns: [", "scenario-yaml", ":2"),
    (GOOD.replace("    persona:", "    colour: red\n    persona:"), "scenario-field-unknown", ":3"),
    (GOOD.replace("    expect:\n", "    expekt:\n"), "scenario-field-unknown", ":3"),
    (GOOD.replace("  - id: book-one\n", "  - name: book-one\n"), "scenario-field-unknown", ":3"),
    (GOOD.replace("use_case: scheduling\n", ""), "scenario-field-missing", ":2"),
    (GOOD.replace("length_scale: 1.2", "length_scale: 9"), "scenario-value", ":4"),
    (GOOD.replace("noise_db: -40", "noise_db: loud"), "scenario-type", ":4"),
    (GOOD.replace('dtmf: "1#"', 'dtmf: "12a"'), "scenario-value", ":7"),
    (GOOD.replace('- dtmf: "1#"', '- {say: hi, dtmf: "1"}'), "scenario-turn", ":7"),
    (GOOD.replace("action: booked", "action: lost"), "scenario-value", ":10"),
    (GOOD.replace('says: ["date of birth"]', "says: date"), "scenario-type", ":9"),
    (GOOD.replace("filler-count", "no-such-check"), "scenario-value", ":9"),
    (GOOD.replace("id: book-one", "id: Book One"), "scenario-value", ":3"),
    (GOOD.replace("hesitations: true", "hesitations: 1"), "scenario-type", ":4"),
    ("- just a list", "scenario-type", "s.yaml"),
]


@pytest.mark.parametrize(("text", "code", "where"), BAD)
def test_a_bad_file_is_a_coded_error_with_its_line(
    tmp_path: Path, text: str, code: str, where: str
) -> None:
    with pytest.raises(SimulationError) as err:
        load_file(write(tmp_path, text))
    assert err.value.code == code
    assert err.value.message.startswith("s.yaml") and where in err.value.message.split(" ")[0]


def test_duplicate_ids_and_no_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(SimulationError, match="scenario-duplicate-id"):
        load([tmp_path])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SimulationError, match="scenario-none"):
        load([tmp_path / "empty"])
    with pytest.raises(SimulationError, match="scenario-file-unreadable"):
        load([tmp_path / "missing.yaml"])


def run(index: int, *failures: str) -> Run:
    return Run("book-one", index, f"call-{index}", failures, (1.0, 2.0), {})


def test_pass_k_needs_every_run_to_pass(tmp_path: Path) -> None:
    [s] = load_file(write(tmp_path, GOOD))
    good = Outcome(s, (run(1), run(2), run(3)))
    one_bad = Outcome(s, (run(1), run(2, "the agent did not say 'x'"), run(3)))
    assert good.passed and good.passes == 3
    assert not one_bad.passed and one_bad.passes == 2
    assert not Outcome(s, ()).passed
    assert SuiteResult("scheduling", 3, "sha", (good,)).passed
    suite = SuiteResult("scheduling", 3, "sha", (good, one_bad))
    assert not suite.passed and suite.as_dict()["passed"] is False
    assert len(str(suite.sha256())) == 64


def test_p90_and_loose_phrase_matching() -> None:
    assert p90(()) is None
    assert p90((1.0,)) == 1.0
    assert p90(tuple(float(i) for i in range(1, 11))) == 9.0
    assert said("date of birth", "Could you tell me your date of birth, please?")
    assert said("Saturday mornings from 9 AM to noon", "and saturday mornings from 9am to noon")
    assert not said("booked", "I could not find a time for you")

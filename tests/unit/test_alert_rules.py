"""The alert rules as role `monitoring` renders them: `promtool check rules`, and
`promtool test rules` with input series that fire and do not fire each of the
programme's alerts (tests/assets/prometheus/programme.rules.test.yml). promtool comes
from Debian's `prometheus` package (TEST_DEBS: `make setup-test` installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.edge.refusals import REFUSED_METRIC, SERVICE_REASONS
from appliance.governance.enforce_job import DEMOTIONS
from appliance.observability.metrics import BUCKETS, STAGES
from appliance.quality.kpi_metrics import COUNTS, RATIOS, REFRESHED
from appliance.quality.wer_metrics import RATIO, SAMPLES
from tests.ansible_role import render_template

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1] / "assets/prometheus/programme.rules.test.yml"
# the programme's thresholds, as the governance documents state them
PROGRAMME = {
    "TurnLatencyP90High": "> 3.5",
    "TurnLatencyP99High": "> 5.0",
    "ContainmentDropped": "> 0.05",
    "ComplianceFlagRateHigh": "> 0.02",
    "TransferFailureRateHigh": "> 0.05",
    "WerHigh": "> 0.08",
}


def _promtool() -> str:
    found = shutil.which("promtool")
    assert found, "no promtool: `make setup-test` installs Debian's prometheus package"
    return found


def _rendered(folder: Path) -> Path:
    path = folder / "appliance.rules.yml"
    path.write_text(render_template("monitoring", "appliance.rules.yml.j2"))
    return path


def _rules() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(render_template("monitoring", "appliance.rules.yml.j2"))
    return {r["alert"]: r for g in data["groups"] for r in g["rules"] if "alert" in r}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rendered_rules(tmp_path: Path) -> None:
    done = _run("check", "rules", str(_rendered(tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_each_programme_alert_fires_and_does_not_fire_as_promtool_tests_it(
    tmp_path: Path,
) -> None:
    _rendered(tmp_path)
    tests = tmp_path / TESTS.name
    shutil.copy(TESTS, tests)
    done = _run("test", "rules", str(tests))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
    spec = yaml.safe_load(TESTS.read_text())
    cases = [c for group in spec["tests"] for c in group["alert_rule_test"]]
    for alert in [*PROGRAMME, "KpisStale", "UseCaseDemoted"]:
        outcomes = {bool(c["exp_alerts"]) for c in cases if c["alertname"] == alert}
        assert outcomes == {True, False}, f"{alert}: fired and not fired, each tested"


def test_a_broken_threshold_fails_the_promtool_tests(tmp_path: Path) -> None:
    """The promtool tests can fail: the P90 alert at 4.5 s misses the slow replies."""
    path = _rendered(tmp_path)
    path.write_text(path.read_text().replace("\n          > 3.5\n", "\n          > 4.5\n"))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    done = _run("test", "rules", str(tmp_path / TESTS.name))
    assert done.returncode != 0
    assert "TurnLatencyP90High" in done.stdout + done.stderr


def test_the_rules_carry_the_programme_thresholds_on_metrics_that_exist() -> None:
    rules = _rules()
    for alert, threshold in PROGRAMME.items():
        assert threshold in rules[alert]["expr"], alert
    assert rules["TurnLatencyP90High"]["labels"]["level"] == "warning"
    assert rules["TurnLatencyP99High"]["labels"]["level"] == "critical"
    assert rules["TurnLatencyP99High"]["labels"]["severity"] == "page"
    assert 3.5 in BUCKETS and 5.0 in BUCKETS  # exact at the thresholds
    assert 'stage="turn_gap"' in rules["TurnLatencyP90High"]["expr"] and "turn_gap" in STAGES
    exported = {*COUNTS, *RATIOS, REFRESHED}
    for alert in ("ContainmentDropped", "ComplianceFlagRateHigh", "TransferFailureRateHigh"):
        names = {w for w in rules[alert]["expr"].split() if w.startswith("appliance_kpi")}
        names = {n.strip("()") for n in names}
        assert names and names <= exported, alert
    demoted = rules["UseCaseDemoted"]["expr"]
    assert (
        f"{DEMOTIONS}_total" in demoted
        and "tier" in rules["UseCaseDemoted"]["annotations"]["summary"]
    )
    wer = rules["WerHigh"]["expr"]
    assert {w for w in wer.split() if w.startswith("appliance_wer")} == {RATIO, SAMPLES}
    assert f"{SAMPLES} >= 30" in " ".join(wer.split())  # monitoring_wer_min_samples


def test_a_wer_alert_without_its_sample_minimum_fails_the_promtool_tests(
    tmp_path: Path,
) -> None:
    """The promtool tests can fail: without the minimum, 12 corrected turns alert."""
    path = _rendered(tmp_path)
    text = path.read_text().replace("appliance_wer_samples >= 30", "appliance_wer_samples >= 1")
    path.write_text(text)
    shutil.copy(TESTS, tmp_path / TESTS.name)
    done = _run("test", "rules", str(tmp_path / TESTS.name))
    assert done.returncode != 0
    assert "WerHigh" in done.stdout + done.stderr


def test_a_demotion_alert_on_the_counter_value_fails_the_promtool_tests(tmp_path: Path) -> None:
    """The promtool tests can fail: alerting on the counter itself fires on old demotions."""
    path = _rendered(tmp_path)
    old = "increase(appliance_usecase_demotions_total[30m]) > 0"
    path.write_text(path.read_text().replace(old, "appliance_usecase_demotions_total > 0"))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    done = _run("test", "rules", str(tmp_path / TESTS.name))
    assert done.returncode != 0
    assert "UseCaseDemoted" in done.stdout + done.stderr


SLO_TESTS = TESTS.parent / "slo.rules.test.yml"
SLO_TEMPLATE = "appliance.slo.rules.yml.j2"
SLO_ALERTS = (
    "AnswerRateBudgetBurnFast",
    "AnswerRateBudgetBurnSlow",
    "TurnLatencyBudgetBurnFast",
    "TurnLatencyBudgetBurnSlow",
)


def _slo_rendered(folder: Path) -> Path:
    path = folder / "appliance.slo.rules.yml"
    path.write_text(render_template("monitoring", SLO_TEMPLATE))
    return path


def test_promtool_accepts_the_slo_rules(tmp_path: Path) -> None:
    done = _run("check", "rules", str(_slo_rendered(tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 18 rules found" in done.stdout  # 2 SLIs x 7 windows, 4 alerts


def test_each_slo_burn_alert_fires_and_does_not_fire_as_promtool_tests_it(
    tmp_path: Path,
) -> None:
    _slo_rendered(tmp_path)
    shutil.copy(SLO_TESTS, tmp_path / SLO_TESTS.name)
    done = _run("test", "rules", str(tmp_path / SLO_TESTS.name))
    assert done.returncode == 0, done.stdout + done.stderr
    spec = yaml.safe_load(SLO_TESTS.read_text())
    cases = [c for group in spec["tests"] for c in group["alert_rule_test"]]
    for alert in SLO_ALERTS:
        outcomes = {bool(c["exp_alerts"]) for c in cases if c["alertname"] == alert}
        assert outcomes == {True, False}, f"{alert}: fired and not fired, each tested"


def test_the_slo_rules_use_the_targets_windows_and_metrics_that_exist() -> None:
    data = yaml.safe_load(render_template("monitoring", SLO_TEMPLATE))
    [slo] = [g for g in data["groups"] if g["name"] == "slo"]
    records = {r["record"]: r["expr"] for r in slo["rules"] if "record" in r}
    windows = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    for sli in ("answer", "turn_latency"):
        assert {f"appliance:slo_{sli}_errors:ratio_rate{w}" for w in windows} <= set(records)
    answer = records["appliance:slo_answer_errors:ratio_rate1h"]
    assert "appliance_calls_total[1h]" in answer
    # not the workers' own counter: pjsua refuses a full worker's calls before it counts
    assert "appliance_calls_rejected_total" not in answer
    edge = f'{REFUSED_METRIC}{{reason=~"{"|".join(SERVICE_REASONS)}"}}[1h]'
    assert answer.count(edge) == 2  # the edge's service refusals: errors and offered
    assert "appliance_calls_total" in exported_names()
    assert 'le="3.5"' in records["appliance:slo_turn_latency_errors:ratio_rate5m"]
    alerts = {r["alert"]: r for r in slo["rules"] if "alert" in r}
    assert set(alerts) == set(SLO_ALERTS)
    fast = " ".join(alerts["AnswerRateBudgetBurnFast"]["expr"].split())
    assert "ratio_rate1h > 0.072 and" in fast and "ratio_rate6h > 0.03 and" in fast  # 14.4x, 6x
    slow = " ".join(alerts["TurnLatencyBudgetBurnSlow"]["expr"].split())
    assert "ratio_rate1d > 0.15 and" in slow and "ratio_rate3d > 0.05 and" in slow  # 3x, 1x
    assert alerts["TurnLatencyBudgetBurnFast"]["labels"]["severity"] == "page"
    assert alerts["AnswerRateBudgetBurnSlow"]["labels"]["severity"] == "ticket"


def exported_names() -> set[str]:
    """The counters' sample names as the appliance exports them."""
    from appliance.observability.metrics import Metrics

    metrics = Metrics()
    metrics.call_ended("completed")
    metrics.call_rejected(486)
    return {s.name for family in metrics.registry.collect() for s in family.samples}


def test_a_loose_answer_target_fails_the_slo_promtool_tests(tmp_path: Path) -> None:
    """The SLO tests can fail: at a 95% target the outage that burns a 99.5% budget
    14 times over does not page (only its test group is run)."""
    text = render_template("monitoring", SLO_TEMPLATE, monitoring_slo_answer_target=0.95)
    (tmp_path / "appliance.slo.rules.yml").write_text(text)
    spec = yaml.safe_load(SLO_TESTS.read_text())
    spec["tests"] = spec["tests"][:1]  # the outage
    (tmp_path / SLO_TESTS.name).write_text(yaml.safe_dump(spec))
    done = _run("test", "rules", str(tmp_path / SLO_TESTS.name))
    assert done.returncode != 0
    assert "AnswerRateBudgetBurnFast" in done.stdout + done.stderr

"""Deflection, handling time, escalation shares, cost per resolved call and the KPIs per
use case and tier, on a real SQLCipher store seeded with calls of known answers (the
built-in use cases as the store creates them); the gauges, the digest and the
`[quality.cost]` settings with their coded errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from appliance.config import QualityCost, load_settings
from appliance.errors import ConfigError
from appliance.governance.use_cases import BUILT_IN, ensure_built_in
from appliance.quality.digest import build_digest
from appliance.quality.digest_report import render_html
from appliance.quality.digest_text import render_text
from appliance.quality.kpi_gauges import (
    AHT,
    COST,
    DEFLECTION,
    ESCALATION,
    HOST_COST,
    TIER,
    USE_CASE,
)
from appliance.quality.kpi_metrics import KpiBoard
from appliance.quality.kpi_more import compute_more, host_cost
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Connection, Database

pytestmark = pytest.mark.unit

DAY = 86400.0
T0 = 1_780_000_000.0
# 304.375 a month is 10.00 a day; 250 W for 24 h at 0.50 per kWh is 3.00
COST_MODEL = QualityCost(host_per_month=304.375, power_watts=250.0, price_per_kwh=0.5)
# call id -> (seconds, events); all end in [T0, T0 + DAY) but "yesterday"
CALLS: dict[str, tuple[float, list[tuple[str, str | None]]]] = {
    "info-ok": (60.0, [("intent", "clinic_info"), ("replied", None)]),
    "book-ok": (180.0, [("intent", "book"), ("workflow-book", "booked")]),
    "book-person": (120.0, [("intent", "book"), ("transfer-requested", "caller-request")]),
    "refill-away": (30.0, [("intent", "refill"), ("workflow-transfer", "high-risk-use-case")]),
    "urgent-call": (40.0, [("intent", "emergency"), ("workflow-emergency", "instructed")]),
    "hung-up": (10.0, []),
    "info-and-book": (240.0, [("intent", "clinic_info"), ("intent", "book"), ("replied", None)]),
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.db", "cd" * 32, list(MIGRATIONS))
    ensure_built_in(database, demo=False, at=T0 - DAY)
    database.execute(_seed)
    yield database
    database.close()


def _seed(conn: Connection) -> None:
    calls = {**CALLS, "yesterday": (50.0, [("intent", "book")])}
    for n, (call_id, (seconds, events)) in enumerate(calls.items()):
        end = T0 - 10 if call_id == "yesterday" else T0 + 600 * (n + 1)
        conn.execute(
            "INSERT INTO calls (call_id, started_at, ended_at, codec, remote_hash, outcome)"
            " VALUES (?, ?, ?, 'PCMU', 'h', 'completed')",
            (call_id, end - seconds, end),
        )
        for i, (kind, code) in enumerate(events):
            conn.execute(
                "INSERT INTO call_events (call_id, kind, code, at) VALUES (?, ?, ?, ?)",
                (call_id, kind, code, end - seconds + i),
            )


def test_the_known_answers(db: Database) -> None:
    more = db.query(compute_more, T0, T0 + DAY, COST_MODEL, {"caller-request": 1})
    assert more.calls == 7 and more.handling_s == 680.0
    assert more.average_handling_s == pytest.approx(680 / 7)
    # in scope: info-ok, book-ok, book-person, info-and-book (refill was turned away,
    # emergency and the hang-up have no use case's intent)
    assert (more.in_scope, more.deflected) == (4, 3)
    assert more.deflection_rate == 0.75
    assert list(more.use_cases) == sorted(c.id for c in BUILT_IN)  # the configured set
    info, scheduling = more.use_cases["clinic-information"], more.use_cases["scheduling"]
    assert (info.calls, info.deflected, info.average_handling_s) == (2, 2, 150.0)
    assert (scheduling.calls, scheduling.deflected, scheduling.average_handling_s) == (3, 2, 180.0)
    assert scheduling.deflection_rate == pytest.approx(2 / 3)
    assert (
        more.use_cases["refills"].calls == 0 and more.use_cases["refills"].deflection_rate is None
    )
    low, medium, high = (more.tiers[t] for t in ("low", "medium", "high"))
    assert (low.calls, low.deflected, medium.calls, medium.deflected, high.calls) == (2, 2, 3, 2, 0)
    assert more.host_cost == pytest.approx(13.0)
    assert more.cost_per_resolved_call == pytest.approx(13.0 / 3)
    assert more.escalation_rate("caller-request") == pytest.approx(1 / 7)


def test_no_cost_model_no_resolved_call_no_figure(db: Database) -> None:
    assert host_cost(None, DAY) is None and host_cost(QualityCost(), DAY) is None
    assert db.query(compute_more, T0, T0 + DAY).cost_per_resolved_call is None
    empty = db.query(compute_more, T0 + DAY, T0 + 2 * DAY, COST_MODEL)
    assert empty.host_cost == pytest.approx(13.0) and empty.cost_per_resolved_call is None
    assert empty.deflection_rate is None and empty.average_handling_s is None


def samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    text = generate_latest(registry).decode()
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def test_the_gauges_have_fixed_labels_and_the_known_values(db: Database) -> None:
    board = KpiBoard(db, clock=lambda: T0 + DAY, cost=COST_MODEL)
    registry = CollectorRegistry()
    registry.register(board)
    board.refresh()
    found = {
        (name, tuple(sorted(labels.items()))): value for name, labels, value in samples(registry)
    }
    assert found[(DEFLECTION, ())] == 0.75
    assert found[(AHT, ())] == pytest.approx(680 / 7)
    assert found[(HOST_COST, ())] == pytest.approx(13.0)
    assert found[(COST, ())] == pytest.approx(13.0 / 3)
    assert found[(ESCALATION, (("reason", "caller-request"),))] == pytest.approx(1 / 7)
    key = (f"{USE_CASE}_deflection_ratio", (("tier", "medium"), ("use_case", "scheduling")))
    assert found[key] == pytest.approx(2 / 3)
    assert found[(f"{TIER}_calls", (("tier", "low"),))] == 2
    labels = {(k, v) for _, pairs in found for k, v in pairs}
    # the configured set (and the proxy signals' "none": calls of no use case)
    assert {v for k, v in labels if k == "use_case"} == {*(c.id for c in BUILT_IN), "none"}
    assert {v for k, v in labels if k == "tier"} == {"low", "medium", "high"}
    text = generate_latest(registry).decode()
    for call_id in [*CALLS, "yesterday"]:
        assert call_id not in text


def test_the_digest_shows_them(db: Database) -> None:
    digest = db.query(build_digest, T0, T0 + DAY, COST_MODEL)
    assert digest["deflection"] == {
        "in_scope": 4,
        "deflected": 3,
        "deflection_rate": 0.75,
        "average_handling_s": round(680 / 7, 3),
    }
    assert digest["cost"] == {"currency": "EUR", "host_cost": 13.0, "per_resolved_call": 4.333}
    scheduling = next(r for r in digest["use_cases"] if r["use_case"] == "scheduling")
    assert (scheduling["tier"], scheduling["calls"], scheduling["deflected"]) == ("medium", 3, 2)
    assert [t["calls"] for t in digest["tiers"]] == [2, 3, 0]
    page = render_html(digest, "t")
    assert "75.0% (3 of 4 in-scope calls)" in page and "4.33 EUR" in page
    assert "<td>scheduling</td><td>medium</td><td>3</td><td>2</td><td>66.7%</td>" in page
    assert "deflection           75.0%" in render_text(digest)


@pytest.mark.parametrize(
    ("section", "code"),
    [
        ("power_watts = 200.0", "config-quality-cost-power"),
        ("price_per_kwh = 0.3", "config-quality-cost-power"),
        ('currency = "euro"', "config-quality-cost-currency"),
        ("host_per_month = -1.0", "config-invalid"),
    ],
)
def test_a_bad_cost_model_is_a_coded_error(tmp_path: Path, section: str, code: str) -> None:
    config = tmp_path / "a.toml"
    config.write_text(f"[quality.cost]\n{section}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.code == code


def test_the_cost_model_loads(tmp_path: Path) -> None:
    config = tmp_path / "a.toml"
    config.write_text(
        "[quality.cost]\nhost_per_month = 50.0\npower_watts = 90\nprice_per_kwh = 0.3\n"
    )
    cost = load_settings(config).quality.cost
    assert cost.configured and (cost.host_per_month, cost.power_watts) == (50.0, 90.0)

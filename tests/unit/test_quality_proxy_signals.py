"""The proxy-signals evaluator on the real SQLCipher store: seeded calls with known
low-confidence caller turns and words, re-prompts and caller corrections, scored by the
real scorer; the configured bound, the immutable rows, the digest's weekly totals and
the /metrics gauges per use case read from a real registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from appliance.config import load_settings
from appliance.domain import LOW_WORDS
from appliance.errors import ConfigError, StoreError
from appliance.governance.use_cases import BUILT_IN, ensure_built_in
from appliance.quality.digest import build_digest
from appliance.quality.digest_text import render_text
from appliance.quality.evaluators import DEFAULT_EVALUATORS, evaluators_for
from appliance.quality.kpi_metrics import KpiBoard
from appliance.quality.kpi_proxy import SCORED, SIGNALS, UNSURE
from appliance.quality.rules_proxy import NAME, parse_counts
from appliance.quality.scorer import score_pending, scores_since
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Connection, Database

pytestmark = pytest.mark.unit

T0 = 1_800_000_000.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.db", "ab" * 32, list(MIGRATIONS))
    yield database
    database.close()


async def seed(
    db: Database, call_id: str, logprobs: list[float], events: list[tuple[str, str | None]]
) -> None:
    repo = CallRepository(db)
    at = T0
    await repo.start_call(call_id, at, "PCMU", "")
    for n, lp in enumerate(logprobs):
        await repo.add_turn(call_id, "caller", "words", at + n, at + n + 0.5, {}, lp)
    for kind, code in events:
        await repo.add_event(call_id, kind, "workflow", code, at + 10, audited=False)
    await repo.end_call(call_id, at + 20, "completed")


async def test_counts_verdicts_and_weekly_totals(db: Database) -> None:
    await seed(db, "clean", [-0.2, -0.3], [("workflow-book", "ok")])
    await seed(db, "one-each", [-0.9, -0.1], [("reprompt", None), ("workflow-book", "ok")])
    await seed(
        db,
        "troubled",
        [-1.5, -0.8, -0.71, -0.69],
        [("not-heard", None), ("reprompt", None), ("workflow-book", "caller-declined"),
         ("workflow-cancel", "caller-declined")],
    )  # fmt: skip
    await seed(db, "silent", [], [])
    assert score_pending(db) == 4
    rows = {r.call_id: r for r in scores_since(db, 0) if r.evaluator == "proxy-signals"}
    got = {k: (r.verdict, r.score, r.reason) for k, r in rows.items()}
    assert got == {
        "clean": ("pass", 0.0, "low-confidence:0,reprompts:0,corrections:0"),
        "one-each": ("pass", 2.0, "low-confidence:1,reprompts:1,corrections:0"),
        "troubled": ("unsure", 7.0, "low-confidence:3,reprompts:2,corrections:2"),
        "silent": ("n/a", None, "no-caller-turns"),
    }
    assert "turn:1" in rows["troubled"].evidence and "turn:4" not in rows["troubled"].evidence
    digest = db.query(build_digest, T0 - 86400, T0 + 86400)
    assert digest["proxy_signals"] == {
        "calls": 3, "unsure": 1, "low-confidence": 4, "reprompts": 3, "corrections": 2
    }  # fmt: skip
    text = render_text(digest)
    assert "low-confidence caller turns 4, re-prompts 3, caller corrections 2" in text


async def test_score_rows_stay_immutable(db: Database) -> None:
    await seed(db, "one", [-0.9], [])
    score_pending(db)

    def tamper(conn: Connection) -> None:
        conn.execute("UPDATE call_scores SET reason = 'x' WHERE evaluator = 'proxy-signals'")

    with pytest.raises(StoreError) as err:
        db.execute(tamper)
    assert err.value.code == "store-write-failed"


async def seed_words(db: Database, call_id: str, words: list[int | None], intent: str) -> None:
    """A call with one caller turn per entry: its low-word count (None: not counted)."""
    repo = CallRepository(db)
    await repo.start_call(call_id, T0, "PCMU", "")
    for n, count in enumerate(words):
        timings = {} if count is None else {LOW_WORDS: float(count)}
        await repo.add_turn(call_id, "caller", "words", T0 + n, T0 + n + 0.5, timings, -0.2)
    await repo.add_event(call_id, "intent", "workflow", intent, T0 + 10, audited=False)
    await repo.end_call(call_id, T0 + 20, "completed")


def test_the_low_confidence_bound_follows_the_setting(db: Database, tmp_path: Path) -> None:
    config = tmp_path / "a.toml"
    config.write_text("[quality]\naudio_low_logprob = -1.0\n")
    configured = evaluators_for(load_settings(config).quality)
    [proxy] = [e for e in configured if e.name == NAME]
    [default] = [e for e in evaluators_for(load_settings(None).quality) if e.name == NAME]
    assert proxy.params["low_logprob"] == -1.0 and default.params["low_logprob"] == -0.7
    assert proxy.version != default.version  # a changed bound scores the calls again
    assert default.version == next(e for e in DEFAULT_EVALUATORS if e.name == NAME).version


async def test_a_configured_bound_counts_fewer_turns(db: Database, tmp_path: Path) -> None:
    await seed(db, "troubled", [-1.5, -0.8, -0.71, -0.69], [])
    config = tmp_path / "a.toml"
    config.write_text("[quality]\naudio_low_logprob = -1.0\n")
    assert score_pending(db, evaluators_for(load_settings(config).quality)) == 1
    [row] = [r for r in scores_since(db, 0) if r.evaluator == NAME]
    assert (row.verdict, row.reason) == ("pass", "low-confidence:1,reprompts:0,corrections:0")


async def test_counted_words_join_the_reason_and_the_digest(db: Database) -> None:
    await seed_words(db, "few", [1, 0, None], "book")
    await seed_words(db, "many", [2, 1], "clinic_info")
    await seed_words(db, "uncounted", [None, None], "book")
    score_pending(db)
    rows = {r.call_id: r for r in scores_since(db, 0) if r.evaluator == NAME}
    got = {k: (r.verdict, r.reason) for k, r in rows.items()}
    assert got == {
        "few": ("pass", "low-confidence:0,reprompts:0,corrections:0,low-words:1"),
        "many": ("unsure", "low-confidence:0,reprompts:0,corrections:0,low-words:3"),
        "uncounted": ("pass", "low-confidence:0,reprompts:0,corrections:0"),
    }
    assert parse_counts(got["many"][1]) == {
        "low-confidence": 0, "reprompts": 0, "corrections": 0, "low-words": 3
    }  # fmt: skip
    assert parse_counts("low-words:3") is None and parse_counts("no-caller-turns") is None
    digest = db.query(build_digest, T0 - 86400, T0 + 86400)
    assert digest["proxy_signals"]["low-words"] == 4
    assert "caller corrections 0, low-confidence words 4" in render_text(digest)


def families(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_the_gauges_per_use_case_from_a_real_registry(db: Database) -> None:
    ensure_built_in(db, demo=False, at=T0 - 86400)
    await seed(db, "no-intent", [-0.9, -0.9], [("reprompt", None)])  # no use case's intent
    await seed(
        db,
        "booking",
        [-1.2, -0.1],
        [("intent", "book"), ("asked-again", "yes-or-no"), ("workflow-book", "caller-declined")],
    )
    await seed(db, "silent", [], [])  # n/a: not counted
    board = KpiBoard(db, clock=lambda: T0 + 3600)
    registry = CollectorRegistry()
    registry.register(board)
    board.refresh()
    before = families(registry)
    assert before[(SCORED, (("use_case", "scheduling"),))] == 0  # every label pair, 0 first
    score_pending(db)
    board.refresh()
    found = families(registry)
    scheduling, none = (("use_case", "scheduling"),), (("use_case", "none"),)
    assert found[(SCORED, scheduling)] == 1 and found[(SCORED, none)] == 1
    assert found[(UNSURE, scheduling)] == 1 and found[(UNSURE, none)] == 1

    def signal(case: str, name: str) -> float:
        return found[(SIGNALS, (("signal", name), ("use_case", case)))]

    assert [signal("scheduling", s) for s in ("low-confidence", "reprompts", "corrections")] == [
        1, 1, 1
    ]  # fmt: skip
    assert [signal("none", s) for s in ("low-confidence", "reprompts", "corrections")] == [2, 1, 0]
    assert signal("clinic-information", "reprompts") == 0
    proxy = [pairs for name, pairs in found if name.startswith("appliance_kpi_proxy")]
    cases = {v for pairs in proxy for k, v in pairs if k == "use_case"}
    assert cases == {*(c.id for c in BUILT_IN), "none"}  # fixed label values only
    signals = {v for pairs in proxy for k, v in pairs if k == "signal"}
    assert signals == {"low-confidence", "reprompts", "corrections"}  # no word was counted
    text = generate_latest(registry).decode()
    for call_id in ("no-intent", "booking", "silent"):
        assert call_id not in text


@pytest.mark.parametrize("value", ["1.5", "0.0", "-0.2"])
def test_a_bad_low_word_probability_is_a_coded_error(tmp_path: Path, value: str) -> None:
    config = tmp_path / "a.toml"
    config.write_text(f"[stt]\nlow_word_probability = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.code == "config-invalid"
    assert not load_settings(None).stt.word_confidence  # off by default (the CPU's cost)

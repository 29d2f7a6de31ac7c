"""The weekly digest on the real SQLCipher store: calls of every kind on two days placed
through the real session and clinic agent and scored by the real scorer; the digest's
counts, the CLI (`appliance quality digest --since 7d [--json]`) and a PHI canary."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.cli.main import main
from appliance.config import load_settings
from appliance.errors import ApplianceError
from appliance.quality.digest import build_digest, code, percentile, reason_code
from appliance.quality.digest_text import render_text
from appliance.quality.evaluators import DEFAULT_EVALUATORS
from appliance.quality.schema import SCORES_VERSION
from appliance.quality.scorer import score_pending
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.bootstrap import open_database
from appliance.store.db import Database
from tests.conftest import store_config
from tests.fakes import FakeClock
from tests.unit.test_quality_kpis import DAY, T0, place, place_every_kind
from tests.unit.test_quality_store import CANARY
from tests.unit.test_session_workflows import ASSETS

pytestmark = pytest.mark.unit

# call ids (never in the digest) and the agent's PHI-bearing words (never either)
SECRETS = (*CANARY, "call-7f3a", "You're booked", "Your appointment")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.db", "ab" * 32, list(MIGRATIONS))
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


async def seeded_week(db: Database) -> dict[str, Any]:
    """A FAQ and a transferred call yesterday, every kind of call today; all scored."""
    await place(db, "call-7f3a-y-faq", ["What are your opening hours?", "Goodbye."], 1000 - DAY)
    await place(db, "call-7f3a-y-person", ["Can I talk to a real person?"], 1000 - DAY, desk=200)
    await place_every_kind(db, prefix="call-7f3a-")
    assert score_pending(db) == 8
    until = T0 + 3600
    return db.query(build_digest, until - 7 * DAY, until)


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), secret


async def test_the_digest_of_a_seeded_week(db: Database) -> None:
    digest = await seeded_week(db)
    kpis = digest["kpis"]
    assert (kpis["calls"], kpis["contained"], kpis["escalated"]) == (8, 4, 4)
    assert kpis["containment_rate"] == 0.5
    assert (kpis["scored_calls"], kpis["compliance_flagged"]) == (8, 1)
    assert kpis["compliance_flag_rate"] == 1 / 8
    assert (kpis["transfers"], kpis["transfers_failed"]) == (3, 1)
    days = digest["days"]
    assert len(days) == 7 and [d["calls"] for d in days] == [0, 0, 0, 0, 0, 2, 6]
    assert days[-2]["containment_rate"] == 0.5 and days[-2]["transfer_failure_rate"] == 0.0
    assert days[0]["containment_rate"] is None  # no calls: no share
    verdicts = digest["verdicts"]
    assert list(verdicts)[: len(DEFAULT_EVALUATORS)] == [e.name for e in DEFAULT_EVALUATORS]
    assert all(sum(v.values()) == 8 for v in verdicts.values())
    assert verdicts["ai-disclosure-within-10s"]["fail"] == 1
    assert verdicts["transfer-outcome"] == {"pass": 2, "fail": 1, "unsure": 0, "n/a": 5}
    fails = {(r["evaluator"], r["reason"]): r for r in digest["top_fail_reasons"]}
    cut = fails[("ai-disclosure-within-10s", "disclosure-cut")]
    assert cut["calls"] == 1 and cut["compliance"] is True
    assert any(e == "transfer-outcome" and not r["compliance"] for (e, _), r in fails.items())
    reasons = {r["reason"]: r["calls"] for r in digest["escalation_reasons"]}
    assert reasons == {"caller-request": 3, "emergency": 1}
    assert digest["transfer_failures"] == {"refused": 1}  # the desk said 486 busy
    delay = digest["reply_delay_s"]
    assert delay["n"] > 0 and 0 <= delay["p50"] <= delay["p90"] <= delay["p99"]


async def test_the_digest_holds_no_phi_nor_call_ids(db: Database) -> None:
    digest = await seeded_week(db)
    assert_no_secrets(json.dumps(digest))
    text = render_text(digest)
    assert_no_secrets(text)
    assert "containment          50.0%  (4 contained, 4 escalated)" in text
    assert "Top escalation reasons" in text and "caller-request" in text


async def test_the_latest_scores_count_once_per_call(db: Database) -> None:
    await place(db, "call-7f3a-hung-up", [], hangup_at=1.0)
    score_pending(db)
    db.execute(
        lambda conn: conn.execute(
            "INSERT INTO call_scores (call_id, evaluator, evaluator_version, verdict, score,"
            " reason, evidence, scored_at) VALUES (?, 'ai-disclosure-within-10s', 'v2',"
            " 'pass', 1.0, 'disclosure-in-time', '[]', ?)",
            ("call-7f3a-hung-up", T0 + DAY),
        )
    )  # as a re-scoring under a new rule writes it
    digest = db.query(build_digest, T0 - DAY, T0 + DAY)
    assert digest["verdicts"]["ai-disclosure-within-10s"] == {
        "pass": 1, "fail": 0, "unsure": 0, "n/a": 0,
    }  # fmt: skip
    assert digest["kpis"]["compliance_flagged"] == 0


def test_codes_numbers_and_percentiles() -> None:
    assert reason_code("gaps:3") == "gaps:N"
    assert reason_code("fillers:4,replies:7") == "fillers:N,replies:N"
    assert code("caller-request") == "caller-request"
    assert code("Maria Gonzalez, 12 April") == "other"  # whatever a code is not
    assert code("ai-disclosure-within-10s") == "ai-disclosure-within-10s"
    assert percentile([], 0.9) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 0.99) == 99.0


async def test_the_cli_prints_the_digest_of_the_last_week(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path)
    store = open_database(load_settings(config), MIGRATIONS, create=True)
    try:
        import_directory(store, ASSETS / "schedule")
        an_hour_ago = time.time() - FakeClock.EPOCH - 3600
        await place(store, "call-7f3a-person", ["Can I talk to a real person?"], an_hour_ago, 486)
        await place(store, "call-7f3a-old", ["Hello?"], an_hour_ago - 8 * DAY)  # before
        score_pending(store)
    finally:
        store.close()
    run = ["--config", str(config), "quality", "digest"]
    assert main([*run, "--since", "7d", "--json"]) == 0
    out = capsys.readouterr().out
    digest = json.loads(out)
    assert digest["kpis"]["calls"] == 1 and digest["kpis"]["transfer_failure_rate"] == 1.0
    assert digest["escalation_reasons"] == [{"reason": "caller-request", "calls": 1}]
    assert_no_secrets(out)
    assert main(run) == 0  # text, 7 days by default
    text = capsys.readouterr().out
    assert "calls ended          1" in text
    assert_no_secrets(text)
    assert main([*run, "--since", "a week"]) == 2  # a coded error
    assert "quality-bad-since" in capsys.readouterr().err


def test_the_digest_says_when_the_store_has_no_scores(tmp_path: Path) -> None:
    from appliance.cli.quality import run_digest

    before = [m for m in MIGRATIONS if m.number < SCORES_VERSION]
    plain = Database.open(tmp_path / "plain.db", "ab" * 32, before)
    try:
        with pytest.raises(ApplianceError) as exc:
            run_digest(plain, "7d", as_json=True)
        assert exc.value.code == "quality-not-installed"
    finally:
        plain.close()

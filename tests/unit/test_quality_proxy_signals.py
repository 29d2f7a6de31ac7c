"""The proxy-signals evaluator on the real SQLCipher store: seeded calls with known
low-confidence caller turns, re-prompts and caller corrections, scored by the real
scorer; the immutable rows and the digest's weekly totals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.errors import StoreError
from appliance.quality.digest import build_digest
from appliance.quality.digest_text import render_text
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

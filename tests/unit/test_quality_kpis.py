"""The KPIs on the real SQLCipher store: calls of every kind placed through the real
session and clinic agent, scored by the real scorer; then containment, compliance flags
and transfer failures, and the admin's gauges on /metrics (no labels, no PHI)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from appliance.conversation.session import CallSession, TransferPolicy
from appliance.domain import CallId
from appliance.observability.metrics import Metrics
from appliance.quality.kpi_gauges import (
    AHT,
    DEFLECTED,
    DEFLECTION,
    ESCALATION,
    IN_SCOPE,
    TIER,
)
from appliance.quality.kpi_metrics import (
    COUNTS,
    ESCALATED,
    RATIOS,
    REFRESHED,
    KpiBoard,
    follow_kpis,
    kpi_job,
)
from appliance.quality.kpi_proxy import SCORED as PROXY_SCORED
from appliance.quality.kpi_proxy import SIGNALS as PROXY_SIGNALS
from appliance.quality.kpi_proxy import UNSURE as PROXY_UNSURE
from appliance.quality.kpis import COMPLIANCE_EVALUATORS, ESCALATION_REASONS, compute_kpis
from appliance.quality.rules_compliance import PAYMENT_REASON
from appliance.quality.scorer import score_pending
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Connection, Database
from appliance.workflows.engine import PAYMENT_REASON as ENGINE_PAYMENT_REASON
from tests.fakes import FakeCall, FakeClock, FakeStt, session_deps
from tests.unit.test_quality_store import BOOKING, CANARY
from tests.unit.test_session_workflows import ASSETS, TransferringCall, chat

pytestmark = pytest.mark.unit

DAY = 86400.0
T0 = FakeClock.EPOCH + 1000.0  # when a call placed with the default clock starts


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.db", "ab" * 32, list(MIGRATIONS))
    import_directory(database, ASSETS / "schedule")
    yield database
    database.close()


async def place(
    db: Database,
    call_id: str,
    lines: list[str],
    start: float = 1000.0,
    desk: int | None = None,
    hangup_at: float | None = None,
) -> str:
    """One call through the real session and clinic agent, its clock at `start`
    (monotonic s; wall time FakeClock.EPOCH + start), a desk answering with SIP status
    `desk` if given; its outcome."""
    clock = FakeClock(start)
    deps, _ = await session_deps(clock, CallRepository(db), FakeStt(clock, lines), None)
    deps = dataclasses.replace(deps, agent=chat(db, clock))
    if desk is not None:
        deps = dataclasses.replace(deps, transfer=TransferPolicy("sip:desk@127.0.0.1"))
        call: FakeCall = TransferringCall(
            clock, answers=len(lines), status=desk, hangup_at=hangup_at
        )
    else:
        call = FakeCall(clock, answers=len(lines), hangup_at=hangup_at)
    call.call_id = CallId(call_id)
    return await clock.run(CallSession(call, deps).run())


async def place_every_kind(db: Database, start: float = 1000.0, prefix: str = "") -> None:
    """Booked, FAQ, emergency, transferred, desk busy, hung up in the greeting."""
    await place(db, f"{prefix}booked", BOOKING, start)
    await place(db, f"{prefix}faq", ["What are your opening hours?", "Goodbye."], start)
    await place(db, f"{prefix}emergency", ["My husband has chest pain"], start)
    await place(db, f"{prefix}person", ["Can I talk to a real person?"], start, desk=200)
    busy = ["Can I talk to a real person?", "No thanks, bye."]
    await place(db, f"{prefix}busy-desk", busy, start, desk=486)
    await place(db, f"{prefix}hung-up", [], start, hangup_at=1.0)


def insert_score(db: Database, call_id: str, evaluator: str, verdict: str) -> None:
    """A newer row (as a re-scoring under a new version writes one)."""
    db.execute(
        lambda conn: conn.execute(
            "INSERT INTO call_scores (call_id, evaluator, evaluator_version, verdict, score,"
            " reason, evidence, scored_at) VALUES (?, ?, 'test', ?, NULL, 'test', '[]', ?)",
            (call_id, evaluator, verdict, T0 + 2 * DAY),
        )
    )


async def test_the_kpis_of_every_kind_of_call(db: Database) -> None:
    await place_every_kind(db)
    since, until = T0 - 60, T0 + 3600
    before = db.query(compute_kpis, since, until)
    assert (before.calls, before.contained) == (6, 3)  # booked, FAQ, hung up
    assert before.containment_rate == 0.5
    assert (before.scored, before.compliance_flag_rate) == (0, None)  # not scored yet
    assert (before.transfers, before.transfers_failed) == (2, 1)  # answered, busy
    assert before.transfer_failure_rate == 0.5
    assert score_pending(db) == 6
    after = db.query(compute_kpis, since, until)
    assert (after.scored, after.flagged) == (6, 1)  # the greeting cut by the hang-up
    assert after.compliance_flag_rate == pytest.approx(1 / 6)
    elsewhere = db.query(compute_kpis, until, until + DAY)  # nothing ended then
    assert (elsewhere.calls, elsewhere.scored, elsewhere.transfers) == (0, 0, 0)
    assert elsewhere.containment_rate is None and elsewhere.transfer_failure_rate is None


async def test_the_latest_score_of_a_call_decides_its_flag(db: Database) -> None:
    await place(db, "hung-up", [], hangup_at=1.0)
    await place(db, "faq", ["What are your opening hours?", "Goodbye."])
    score_pending(db)
    window = (T0 - 60, T0 + 3600)
    assert db.query(compute_kpis, *window).flagged == 1
    insert_score(db, "hung-up", "ai-disclosure-within-10s", "pass")  # re-scored: passes
    assert db.query(compute_kpis, *window).flagged == 0
    insert_score(db, "faq", "pci-pause-held", "fail")
    assert db.query(compute_kpis, *window).flagged == 1
    insert_score(db, "faq", "dead-air", "fail")  # not a compliance evaluator
    insert_score(db, "faq", "pci-pause-held", "n/a")
    assert db.query(compute_kpis, *window).flagged == 0
    assert "dead-air" not in COMPLIANCE_EVALUATORS


async def test_an_escalation_without_a_transfer_is_not_contained(db: Database) -> None:
    """No desk configured: the request for a person is not contained either."""
    await place(db, "person-no-desk", ["Can I talk to a real person?", "No thanks, bye."])
    kpis = db.query(compute_kpis, T0 - 60, T0 + 3600)
    assert (kpis.calls, kpis.contained, kpis.transfers) == (1, 0, 0)


def record(db: Database, call_id: str, *events: tuple[str, str | None]) -> None:
    """A call that ended at T0 + 60 with these (kind, code) events, as the session stores
    them (for the kinds a scripted call cannot reach without more configuration)."""

    def insert(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO calls (call_id, started_at, ended_at, codec, remote_hash, outcome)"
            " VALUES (?, ?, ?, 'PCMU', 'h', 'completed')",
            (call_id, T0, T0 + 60),
        )
        for i, (kind, code) in enumerate(events):
            conn.execute(
                "INSERT INTO call_events (call_id, kind, code, at) VALUES (?, ?, ?, ?)",
                (call_id, kind, code, T0 + i),
            )

    db.execute(insert)


def test_containment_by_kind_of_escalation(db: Database) -> None:
    assert PAYMENT_REASON == ENGINE_PAYMENT_REASON
    pause = [("pci-pause-start", "dtmf"), ("pci-pause-end", "ok:16")]
    record(db, "payment", ("workflow-transfer", PAYMENT_REASON), *pause)  # on the call
    record(db, "declined", ("consent-declined", None))  # even if no transfer followed
    record(db, "emergency", ("workflow-emergency", "instructed"))
    record(db, "faq", ("answered", None), ("replied", None))
    kpis = db.query(compute_kpis, T0, T0 + 3600)
    assert (kpis.calls, kpis.contained) == (4, 2)
    assert db.query(compute_kpis, T0 + 60, T0 + 3600).calls == 4  # ended at T0 + 60
    assert db.query(compute_kpis, T0, T0 + 60).calls == 0  # the window's end is excluded


def samples_of(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    text = generate_latest(registry).decode()
    families = text_string_to_metric_families(text)
    return [(s.name, s.labels, s.value) for family in families for s in family.samples]


def scrape(registry: CollectorRegistry) -> dict[str, tuple[dict[str, str], float]]:
    """The unlabelled samples by name."""
    return {name: (labels, value) for name, labels, value in samples_of(registry) if not labels}


def escalations(registry: CollectorRegistry) -> dict[str, float]:
    """appliance_kpi_escalated_calls by reason (its only label)."""
    found = [(labels, value) for name, labels, value in samples_of(registry) if name == ESCALATED]
    assert all(set(labels) == {"reason"} for labels, _ in found)
    return {labels["reason"]: value for labels, value in found}


async def test_the_board_exports_the_last_day_without_labels_or_phi(db: Database) -> None:
    await place_every_kind(db)
    score_pending(db)
    now = [T0 + 3600]
    board = KpiBoard(db, clock=lambda: now[0])
    registry = CollectorRegistry()
    registry.register(board)
    assert scrape(registry) == {REFRESHED: ({}, 0.0)}  # before the first refresh
    board.refresh()
    samples = scrape(registry)
    # no use case configured in this store: nothing in scope, no deflection share
    assert set(samples) == {*COUNTS, *RATIOS, REFRESHED, IN_SCOPE, DEFLECTED, AHT}
    assert samples[IN_SCOPE][1] == 0 and DEFLECTION not in samples
    labelled = {name for name, labels, _ in samples_of(registry) if labels}
    assert labelled == {
        ESCALATED, ESCALATION, f"{TIER}_calls", f"{TIER}_deflected_calls",
        PROXY_SCORED, PROXY_UNSURE, PROXY_SIGNALS,  # per use case, here all "none"
    }  # fmt: skip
    reasons = escalations(registry)
    assert set(reasons) == {*ESCALATION_REASONS, "other"}  # a fixed label set, all exported
    assert {r: n for r, n in reasons.items() if n} == {"caller-request": 2, "emergency": 1}
    assert samples["appliance_kpi_calls"][1] == 6
    assert samples["appliance_kpi_containment_ratio"][1] == 0.5
    assert samples["appliance_kpi_compliance_flag_ratio"][1] == pytest.approx(1 / 6)
    assert samples["appliance_kpi_transfer_failure_ratio"][1] == 0.5
    assert samples[REFRESHED][1] == now[0]
    text = generate_latest(registry).decode().lower()
    for secret in (*CANARY, "booked", "hung-up", "busy-desk"):  # no words, no call ids
        assert secret.lower() not in text, secret
    now[0] += DAY + 3600  # a day later: the calls left the window
    board.refresh()
    later = scrape(registry)
    assert later["appliance_kpi_calls"][1] == 0
    assert not set(RATIOS) & set(later)  # no share of nothing (no alert on it)


async def test_the_job_refreshes_until_stopped_and_outlives_a_failed_refresh(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await place(db, "faq", ["What are your opening hours?", "Goodbye."])
    board = KpiBoard(db, clock=lambda: T0 + 3600)
    stop = asyncio.Event()
    job = asyncio.create_task(follow_kpis(board, stop, every_s=0.02))
    for _ in range(200):
        if scrape_board(board).get(REFRESHED, 0.0) > 0:
            break
        await asyncio.sleep(0.02)
    assert scrape_board(board)["appliance_kpi_calls"] == 1
    stop.set()
    await asyncio.wait_for(job, 5)

    closed = Database.open(tmp_path / "closed.db", "cd" * 32, list(MIGRATIONS))
    closed.close()
    broken = KpiBoard(closed)
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR):
        job = asyncio.create_task(follow_kpis(broken, stop, every_s=0.02))
        await asyncio.sleep(0.1)
        assert not job.done()  # still running
        stop.set()
        await asyncio.wait_for(job, 5)
    assert any(r.message == "kpis not refreshed" for r in caplog.records)
    assert scrape_board(broken) == {REFRESHED: 0.0}  # stale: KpisStale would fire


def test_escalation_reasons_are_a_fixed_label_set(db: Database) -> None:
    record(db, "declined", ("consent-declined", None), ("transfer-requested", "consent-declined"))
    record(db, "stray", ("transfer-requested", "Maria Gonzalez 1980"))  # never a label
    record(db, "locked", ("workflow-transfer", "identity-locked"))
    board = KpiBoard(db, clock=lambda: T0 + 3600)
    registry = CollectorRegistry()
    registry.register(board)
    assert escalations(registry) == {}  # before the first refresh: nothing
    board.refresh()
    counted = {r: n for r, n in escalations(registry).items() if n}
    assert counted == {"consent-declined": 1, "other": 1, "identity-locked": 1}
    assert "maria" not in generate_latest(registry).decode().lower()


def test_the_reasons_the_workflows_give_are_in_the_fixed_list() -> None:
    """Every escalate("...") of the workflow engine, its locked and payment reasons."""
    from appliance.workflows.lockout import LOCKED_REASON

    root = Path(__file__).resolve().parents[2] / "appliance/workflows"
    calls = re.compile(r'escalate\(\s*("[a-z-]+"(?:\s+if \w+ else\s+"[a-z-]+")?)')
    found: set[str] = set()
    for path in root.glob("*.py"):
        for literal in calls.findall(path.read_text()):
            found |= set(re.findall(r'"([a-z-]+)"', literal))
    found |= {LOCKED_REASON, PAYMENT_REASON, "emergency", "consent-declined"}
    assert {"caller-request", "high-risk-use-case", "use-case-disabled", "identity-failed"} <= found
    assert found <= set(ESCALATION_REASONS), found - set(ESCALATION_REASONS)


def scrape_board(board: KpiBoard) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(board)
    return {name: value for name, (_, value) in scrape(registry).items()}


async def test_the_admin_job_puts_the_gauges_on_metrics(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await place(db, "faq", ["What are your opening hours?", "Goodbye."])
    metrics = Metrics()
    stop = asyncio.Event()
    job = asyncio.create_task(kpi_job(db, metrics, stop))
    for _ in range(200):
        found = scrape(metrics.exposition_registry()).get(REFRESHED)
        if found and found[1] > 0:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(job, 5)
    samples = scrape(metrics.exposition_registry())
    assert samples[REFRESHED][1] > 0
    assert "appliance_kpi_calls" in samples  # 0 here: the call is from 2023, not the last 24 h
    (tmp_path / "multiproc").mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "multiproc"))  # `appliance run`
    assert scrape(metrics.exposition_registry())[REFRESHED][1] > 0

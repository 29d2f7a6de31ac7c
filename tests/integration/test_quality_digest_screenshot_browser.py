"""The weekly digest's first screen as Debian's Chromium shows it (Selenium, headless,
as the console's browser tests start it): a week of seeded calls on a real SQLCipher
store (intents, escalations, transfers, scores, reply delays; no words but a dash),
`write_week` as the schedule runs it, the HTML opened from disk. The PNG goes to
docs/quality/digest.png with UPDATE_DOCS_SCREENSHOTS=1, else under tmp; either way it
must show a page with its plots (many colours, mostly not blank)."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from appliance.governance.use_cases import ensure_built_in
from appliance.quality.digest import build_digest
from appliance.quality.digest_report import week_window, write_week
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Connection, Database
from tests.integration.test_console_browser import NEEDS_CHROMIUM, browser
from tests.unit.test_quality_kpi_more import CALLS, COST_MODEL

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "quality" / "digest.png"
WEEK = "2026-W49"
WIDTH, HEIGHT = 1000, 1500  # CSS px of the first screen
VERDICTS = ("pass",) * 11 + ("unsure", "n/a", "fail")
EVALUATORS = ("ai-disclosure-within-10s", "identity-before-phi", "consent-honoured")


def seed_week(conn: Connection, monday: float) -> None:
    """Each day of the week: CALLS (their events), busier towards midweek, every call
    with two reply delays and compliance scores."""
    n = 0
    for day in range(7):
        for repeat in range(1 + (day % 4)):
            for name, (seconds, events) in CALLS.items():
                if name == "urgent-call" and (day + repeat) % 2:
                    continue  # fewer emergencies some days: containment varies
                n += 1
                call_id, start = f"c{n}", monday + day * 86400 + 3600 * (8 + repeat) + n
                conn.execute(
                    "INSERT INTO calls (call_id, started_at, ended_at, codec, remote_hash,"
                    " outcome) VALUES (?, ?, ?, 'PCMU', 'h', 'completed')",
                    (call_id, start, start + seconds),
                )
                for i, (kind, code) in enumerate(events):
                    conn.execute(
                        "INSERT INTO call_events (call_id, kind, code, at) VALUES (?, ?, ?, ?)",
                        (call_id, kind, code, start + i),
                    )
                if name == "book-person":  # the desk answers, but every fourth is busy
                    kind = "transfer-failed" if n % 4 == 0 else "transfer-ok"
                    conn.execute(
                        "INSERT INTO call_events (call_id, kind, code, at)"
                        " VALUES (?, ?, 'busy', ?)",
                        (call_id, kind, start + 5),
                    )
                _turns(conn, call_id, start, n)
                for e, evaluator in enumerate(EVALUATORS):
                    conn.execute(
                        "INSERT INTO call_scores (call_id, evaluator, evaluator_version,"
                        " verdict, score, reason, evidence, scored_at)"
                        " VALUES (?, ?, '1', ?, NULL, 'seeded', '[]', ?)",
                        (
                            call_id,
                            evaluator,
                            VERDICTS[(n * 5 + e) % len(VERDICTS)],
                            start + seconds,
                        ),
                    )


def _turns(conn: Connection, call_id: str, start: float, n: int) -> None:
    for seq in range(4):
        speaker = "caller" if seq % 2 == 0 else "agent"
        delay = 0.6 + (n * 7 + seq) % 30 / 10  # 0.6 .. 3.5 s
        conn.execute(
            "INSERT INTO turns (call_id, seq, speaker, text, started_at, ended_at, timings)"
            " VALUES (?, ?, ?, '-', ?, ?, ?)",
            (call_id, seq, speaker, start + seq, start + seq + 1,
             json.dumps({"first_audio_out": delay})),
        )  # fmt: skip


def shoot(page: Path, out: Path, profile: Path) -> None:
    from PIL import Image

    driver = browser(profile)
    try:
        metrics = {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.get(page.as_uri())
        png = driver.get_screenshot_as_png()
    finally:
        driver.quit()
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=96)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG", optimize=True)


@NEEDS_CHROMIUM
def test_the_digest_first_screen(tmp_path: Path) -> None:
    from PIL import Image

    since, until = week_window(WEEK)
    db = Database.open(tmp_path / "calls.db", "ef" * 32, list(MIGRATIONS))
    try:
        ensure_built_in(db, demo=True, at=since - 86400)
        db.execute(seed_week, since)
        digest = db.query(build_digest, since, until, COST_MODEL)
    finally:
        db.close()
    assert digest["kpis"]["calls"] == 16 * len(CALLS) - 6  # 16 repeats, 6 without an emergency
    page, _ = write_week(digest, WEEK, tmp_path / "digests")
    update = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"
    out = DOCS if update else tmp_path / "digest.png"
    try:
        shoot(page, out, tmp_path / "profile")
    finally:
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    image = Image.open(out).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colours = image.getcolors(maxcolors=256) or []
    assert len(colours) >= 16  # text, bars, lines, legends: not a blank or error page
    blank = sum(count for count, rgb in colours if min(rgb) > 245)
    assert blank < 0.95 * WIDTH * HEIGHT  # a white page with text and plots
    assert out.stat().st_size > 20_000

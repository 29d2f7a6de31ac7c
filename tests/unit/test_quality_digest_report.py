"""The weekly digest as HTML (plots as PNG data URIs) and PDF, rendered from a seeded week
on the real store (calls through the real session and agent, scored by the real scorer),
and `appliance quality digest --week YYYY-Www --out DIR`; neither holds PHI or a call id."""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import matplotlib
import pytest

from appliance.cli.main import main
from appliance.config import load_settings
from appliance.errors import ApplianceError
from appliance.quality.digest_report import week_window, write_week
from appliance.quality.scorer import score_pending
from appliance.scheduling.importer import import_directory
from appliance.services.app_db import MIGRATIONS
from appliance.store.bootstrap import open_database
from appliance.store.db import Database
from tests.conftest import store_config
from tests.fakes import FakeClock
from tests.unit.test_quality_digest import assert_no_secrets, db, seeded_week
from tests.unit.test_quality_kpis import place
from tests.unit.test_session_workflows import ASSETS

pytestmark = pytest.mark.unit
__all__ = ["db"]  # the store fixture, shared with the digest's tests
PNG = "data:image/png;base64,"


def test_an_iso_week_is_monday_to_monday_utc() -> None:
    since, until = week_window("2026-W49")
    assert datetime.fromtimestamp(since, UTC) == datetime(2026, 11, 30, tzinfo=UTC)
    assert until - since == 7 * 86400
    for bad in ("2026-49", "2026-W54", "last week", "2026-W00"):
        with pytest.raises(ApplianceError) as exc:
            week_window(bad)
        assert exc.value.code == "quality-bad-week"


async def test_a_seeded_week_renders_as_html_and_pdf_without_phi(
    db: Database, tmp_path: Path
) -> None:
    digest = await seeded_week(db)
    with matplotlib.rc_context({"pdf.compression": 0}):  # the PDF's text stays readable
        page, pdf = write_week(digest, "1970-W01", tmp_path / "out")
    text = page.read_text("utf-8")
    assert page.name == "digest-1970-W01.html" and text.startswith("<!doctype html>")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    assert len(images) == 4
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "<th>Containment</th><td>50.0% (4 contained)</td>" in text
    assert "<td>1</td><td>ai-disclosure-within-10s</td><td>disclosure-cut</td>" in text
    assert_no_secrets(re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text))
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF") and len(re.findall(rb"/Type /Page(?!s)", raw)) == 5
    words = pdf_text(raw)
    assert "Containment: 50.0%" in words and "Calls ended: 8" in words
    assert_no_secrets(words)
    assert_no_secrets(raw.decode("latin-1"))


def pdf_text(raw: bytes) -> str:
    """The text of an uncompressed matplotlib PDF: each text object's strings joined
    (kerning splits a line into one string per glyph)."""
    blocks = re.findall(rb"BT(.*?)ET", raw, re.S)
    strings = (re.findall(rb"\(((?:[^()\\]|\\.)*)\)", b) for b in blocks)
    return "\n".join(b"".join(parts).decode("latin-1") for parts in strings)


async def test_the_cli_writes_the_weeks_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path)
    store = open_database(load_settings(config), MIGRATIONS, create=True)
    an_hour_ago = time.time() - 3600
    try:
        import_directory(store, ASSETS / "schedule")
        await place(store, "call-7f3a-person", ["Can I talk to a real person?"],
                    an_hour_ago - FakeClock.EPOCH, 486)  # fmt: skip
        score_pending(store)
    finally:
        store.close()
    year, week, _ = datetime.fromtimestamp(an_hour_ago, UTC).isocalendar()
    name = f"{year}-W{week:02d}"
    out = tmp_path / "digests"
    assert (
        main(["--config", str(config), "quality", "digest", "--week", name, "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert f"digest-{name}.html" in printed and f"digest-{name}.pdf" in printed
    page = (out / f"digest-{name}.html").read_text("utf-8")
    assert "<th>Calls ended</th><td>1</td>" in page and PNG in page
    assert (out / f"digest-{name}.pdf").read_bytes().startswith(b"%PDF")
    assert main(["--config", str(config), "quality", "digest", "--week", name, "--json"]) == 0
    assert '"calls": 1' in capsys.readouterr().out
    assert main(["--config", str(config), "quality", "digest", "--week", "soon"]) == 2
    assert "quality-bad-week" in capsys.readouterr().err

"""Screenshots of the console's main screens at 200% zoom, taken in Debian's Chromium
(Selenium; background networking and component updates off, as the other browser tests):
a 1280-pixel-wide window at zoom 200% is a 640 CSS-pixel viewport at device scale 2.
Each page must fit that width (no horizontal scroll); the PNGs go to docs/console/
(palette PNGs, each under 300 KB). Real uvicorn server, real SQLCipher store, seeded
calls (the canary PHI is only in the transcript, which is not photographed)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
import pytest

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.console import rollout
from appliance.console.accounts import Actor
from appliance.console.consent import ConsentDesk
from appliance.console.reminders import Reminders
from appliance.console.service import Console
from appliance.governance import use_cases
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.outbound.ledger import Actor as LedgerActor
from appliance.outbound.ledger import ConsentGrant, Ledger
from appliance.outbound.planner import Limits, Planner
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Connection, Database
from appliance.store.spans import SpanStore
from tests.integration.console_seed import CALLER_WORDS, PACKET_NAME, Seeded, seed_calls
from tests.integration.test_console_browser import (
    NEEDS_CHROMIUM,
    PASSWORD,
    browser,
    type_into,
)
from tests.integration.test_console_calls_browser import Clock, enrolled
from tests.integration.test_console_trace_health import SPANS

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
WIDTH, SCALE = 1280, 2  # window pixels, zoom
MAX_HEIGHT = 1600  # CSS px photographed at most (the top of a long page)
MAX_BYTES = 300_000
REMINDER_DAY = "2031-12-02"  # the reminders screen's date (a Tuesday; Dr Lee works)
NY = ZoneInfo("America/New_York")
# fictional patients for the reminders screen (none of it may show on it)
REMINDED = (
    ("r1", "rp1", "Nora", "Quill", "+12125550181", 9, True),
    ("r2", "rp2", "Omar", "Reyes", "+13105550182", 10, True),
    ("r3", "rp3", "Pia", "Stone", "+12125550183", 11, False),  # no consent
    ("r4", "rp4", "Quin", "Tate", "", 12, False),  # no number
)


def shots(seeded: Seeded) -> dict[str, list[tuple[str, str]]]:
    """(file name, path) per user: what each role opens."""
    return {
        "olga": [
            ("home", "/console/"),
            ("calls", "/console/calls"),
            ("call", f"/console/calls/{seeded.escalated}"),
            ("kb", "/console/kb"),
            ("schedule", "/console/schedule"),
            ("users", "/console/users"),
            ("health", "/console/health"),
            ("use-cases", "/console/use-cases"),
            ("use-case", "/console/use-cases/scheduling"),
            ("reminders", f"/console/reminders?day={REMINDER_DAY}"),
            ("consent", "/console/consent"),  # then rp1 looked up (LOOKUPS)
        ],
        "cora": [("audit", "/console/audit")],
        "fran": [("screenpop", "/console/screenpop")],
    }


LOOKUPS = {"consent": "rp1"}  # the patient id typed into a screen's lookup form
REVOKED = "+12125550189"  # rp1's second number: consent revoked on a call, on DNC


def sign_in(driver: Any, base: str, name: str, secret: str, clock: Clock) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/console/login")
    clock.now += 30
    type_into(driver, "name", name)
    type_into(driver, "password", PASSWORD)
    type_into(driver, "code", pyotp.TOTP(secret).at(clock.now), submit=True)


def photograph(driver: Any, path: str, out: Path, lookup: str = "") -> tuple[int, int, int]:
    """Open `path` (and submit `lookup` in its patient field), check the page fits 640
    CSS px, write a palette PNG; returns (scrollWidth, clientWidth, bytes)."""
    from PIL import Image

    width = WIDTH // SCALE
    metrics = {"width": width, "height": 900, "deviceScaleFactor": SCALE, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(driver.current_url.split("/console")[0] + path)
    if lookup:
        type_into(driver, "patient", lookup, submit=True)
    sizes = driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth, e.scrollHeight];"
    )
    height = min(int(sizes[2]), MAX_HEIGHT)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    png = driver.get_screenshot_as_png()
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    out.write_bytes(buffer.getvalue())
    return int(sizes[0]), int(sizes[1]), len(buffer.getvalue())


def tour(
    driver: Any, base: str, secrets: dict[str, str], clock: Clock, seeded: Seeded
) -> dict[str, tuple[int, int, int]]:
    found = {}
    for name, pages in shots(seeded).items():
        sign_in(driver, base, name, secrets[name], clock)
        for shot, path in pages:
            found[shot] = photograph(driver, path, DOCS / f"{shot}.png", LOOKUPS.get(shot, ""))
            assert CALLER_WORDS not in driver.page_source and PACKET_NAME not in driver.page_source
            assert not any(
                r[2] in driver.page_source or r[3] in driver.page_source for r in REMINDED
            )
            phones = [r[4][2:] for r in REMINDED if r[4]] + [REVOKED[2:]]
            assert not any(p in driver.page_source for p in phones)
    return found


def reminders(db: Database) -> Reminders:
    """Four appointments on REMINDER_DAY (two with consent), for the reminders screen."""
    key = b"\x42" * 32
    day = date.fromisoformat(REMINDER_DAY)

    def add(conn: Connection) -> None:
        for appointment, patient, first, last, phone, hour, _ in REMINDED:
            conn.execute(
                "INSERT INTO patients VALUES (?, ?, ?, '1970-01-01', ?)",
                (patient, first, last, phone),
            )
            start = int(datetime.combine(day, time(hour), NY).timestamp())
            conn.execute(
                "INSERT INTO appointments (id, patient_id, provider_id, type_id, start_utc,"
                " end_utc, status, call_id, created_at)"
                " VALUES (?, ?, 'dr-lee', 'checkup', ?, ?, 'booked', NULL, 0)",
                (appointment, patient, start, start + 1800),
            )

    db.execute(add)
    ledger = Ledger(db, key, LedgerActor("lena", "contact-centre-lead", "console"))
    for _, patient, _, _, phone, _, consented in REMINDED:
        if consented:
            ledger.grant(ConsentGrant(patient, phone, "written", "front-desk", 1.8e9))
    ledger.grant(ConsentGrant("rp1", REVOKED, "prior-express", "form", 1.79e9, "192.0.2.7"))
    ledger.opt_out(REVOKED, "call", 1.81e9)
    return Reminders(db, Planner(db, key, (NY, time(8), time(21)), Limits(3, 3)), NY)


def furnish(console: Console, db: Database, seeded: Seeded) -> None:
    """Reference data and a trace, so the screens are not empty."""
    lead = Actor("lena", "contact-centre-lead")
    console.schedule.save_provider("dr-lee", "Dr Lee", "General practice", lead)
    console.schedule.save_type("checkup", "Check-up", "30", lead)
    for day in ("mon", "tue", "thu"):
        console.schedule.add_hours("dr-lee", day, "09:00", "12:30", lead)
    console.schedule.add_holiday("2031-12-25", "Christmas Day", lead)
    console.kb.propose("parking", "park, parking", "Park behind the building.", lead)
    asyncio.run(SpanStore(db).add(seeded.escalated, SPANS))
    use_cases.ensure_built_in(db, demo=True, at=console.now())  # the demo's pilots
    rollout.request(db, "scheduling", "olga", "owner", console.now())


@NEEDS_CHROMIUM
def test_screenshots_at_200_percent_fit_the_width(tmp_path: Path) -> None:
    clock = Clock()
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    seeded = seed_calls(db, clock.now - 30)
    console = Console.open(db, clock)
    furnish(console, db, seeded)
    console = dataclasses.replace(  # on the furnished schedule
        console, reminders=reminders(db), consent=ConsentDesk(db, b"\x42" * 32, clock)
    )
    secrets = {
        "olga": enrolled(console, clock, "olga", "owner"),
        "cora": enrolled(console, clock, "cora", "compliance-officer"),
        "fran": enrolled(console, clock, "fran", "front-desk"),
    }
    health = Health()
    for name, detail in (("sip", "listening on 127.0.0.1:5060"), ("stt", "model loaded"),
                         ("llm", "model loaded"), ("tts", "voice loaded")):  # fmt: skip
        health.set(name, True, detail)
    DOCS.mkdir(parents=True, exist_ok=True)

    async def run() -> dict[str, tuple[int, int, int]]:
        server = AdminServer(create_app(health, Metrics(), console=console), "127.0.0.1", 0)
        await server.start()
        driver = await asyncio.to_thread(browser, tmp_path / "profile")
        try:
            base = f"http://127.0.0.1:{server.port}"
            return await asyncio.to_thread(tour, driver, base, secrets, clock, seeded)
        finally:
            await asyncio.to_thread(driver.quit)
            await server.stop()
            shutil.rmtree(tmp_path / "profile", ignore_errors=True)

    try:
        found = asyncio.run(run())
    finally:
        db.close()
    wide = {shot: (sw, cw) for shot, (sw, cw, _) in found.items() if sw > cw}
    assert not wide, f"horizontal scroll at 200% zoom: {wide}"
    big = {shot: size for shot, (_, _, size) in found.items() if size > MAX_BYTES}
    assert not big, f"screenshots over {MAX_BYTES} bytes: {big}"
    assert set(found) == {p.stem for p in DOCS.glob("*.png")} >= {"users", "call", "use-case"}

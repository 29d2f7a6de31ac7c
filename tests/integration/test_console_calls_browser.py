"""The calls screens in a real browser (Debian's Chromium driven by Selenium, as
test_console_browser.py): a quality reviewer signs in by keyboard, filters the calls
list, opens a call's page (timings, events, scores, no PHI) and then its transcript; the
transcript view is an audit record naming the user. Real uvicorn server, real SQLCipher
store, calls written by the store's own writers."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pyotp
import pytest

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.console.accounts import Actor
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.db import Database
from tests.integration.console_seed import CALLER_WORDS, PACKET_NAME, Seeded, seed_calls
from tests.integration.test_console_browser import (
    NEEDS_CHROMIUM,
    PASSWORD,
    browser,
    loaded,
    type_into,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(30)]


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()) + 60)  # ahead of the seeded calls' records

    def __call__(self) -> float:
        return self.now


def enrolled(console: Console, clock: Clock, name: str, role: str) -> str:
    """An enrolled user (through the accounts API); returns the TOTP secret."""
    token = console.accounts.add(name, role, Actor("operator", "operator", "cli")).token
    secret = console.accounts.enrolment(token).totp_secret
    console.accounts.enrol(token, PASSWORD, PASSWORD, pyotp.TOTP(secret).at(clock.now))
    clock.now += 30
    return secret


def follow(driver, link_id: str) -> None:  # type: ignore[no-untyped-def]
    """Open a link by keyboard: focus it, press Enter, wait for the next page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, link_id).send_keys(Keys.ENTER)
    loaded(driver, page)


def journey(driver, base: str, secret: str, clock: Clock, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(f"{base}/console/login")
    type_into(driver, "name", "rita")
    type_into(driver, "password", PASSWORD)
    type_into(driver, "code", pyotp.TOTP(secret).at(clock.now), submit=True)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.LINK_TEXT, "Calls").click()
    loaded(driver, page)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Calls"
    rows = driver.find_elements(By.CSS_SELECTOR, "#calls tbody tr")
    assert len(rows) == 3
    # the filter form swaps only the table (htmx): the old table goes, the page stays
    table = driver.find_element(By.ID, "calls")
    Select(driver.find_element(By.ID, "reason")).select_by_value("caller-asked-human")
    loaded(driver, table)
    rows = driver.find_elements(By.CSS_SELECTOR, "#calls tbody tr")
    assert len(rows) == 1 and "caller-asked-human" in rows[0].text
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.LINK_TEXT, seeded.escalated).click()
    loaded(driver, page)
    assert driver.find_element(By.TAG_NAME, "h1").text == f"Call {seeded.escalated}"
    assert "llm (s)" in driver.find_element(By.ID, "timings").text
    assert "barge-in" in driver.find_element(By.ID, "events").text
    assert driver.find_elements(By.CSS_SELECTOR, "#scores tbody tr")
    body = driver.find_element(By.TAG_NAME, "body").text
    assert CALLER_WORDS not in body and PACKET_NAME not in body
    follow(driver, "show-transcript")
    assert CALLER_WORDS in driver.find_element(By.ID, "transcript").text
    assert PACKET_NAME in driver.find_element(By.CSS_SELECTOR, "table.packet").text


@NEEDS_CHROMIUM
async def test_calls_list_to_call_page_to_transcript_in_chromium(tmp_path: Path) -> None:
    clock = Clock()
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    seeded = await asyncio.to_thread(seed_calls, db, clock.now - 30)
    console = Console.open(db, clock)
    secret = enrolled(console, clock, "rita", "quality-reviewer")
    server = AdminServer(create_app(Health(), Metrics(), console=console), "127.0.0.1", 0)
    await server.start()
    driver = await asyncio.to_thread(browser, tmp_path / "profile")
    try:
        base = f"http://127.0.0.1:{server.port}"
        await asyncio.to_thread(journey, driver, base, secret, clock, seeded)
    finally:
        await asyncio.to_thread(driver.quit)
        await server.stop()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    reads = [(r.actor, r.action, r.object_id) for r in db.query(read_records)]
    db.close()
    assert [r for r in reads if r[1] == "phi.read"] == [("rita", "phi.read", seeded.escalated)]

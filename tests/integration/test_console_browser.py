"""The console in a real browser: Debian's Chromium (packages chromium, chromium-driver)
driven by Selenium, never a downloaded browser; background networking and component
updates off. Enrol (the TOTP secret read from the page, the code computed with pyotp),
sign out, sign in, all by keyboard, on a real uvicorn server and a virtual clock."""

from __future__ import annotations

import asyncio
import os
import shutil
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

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(30)]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NEEDS_CHROMIUM = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="needs Debian's chromium and chromium-driver (make test installs them)",
)
PASSWORD = "correct horse battery staple"


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def browser(profile: Path):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager may never fetch a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports, errors
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def type_into(driver, field: str, text: str, submit: bool = False) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = driver.find_element(By.TAG_NAME, "html")
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(text + (Keys.ENTER if submit else ""))
    if submit:
        loaded(driver, page)


def loaded(driver, page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page `page` was part of has been replaced by the next one."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(page))


def journey(driver, base: str, token: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/console/enrol/{token}")
    secret = driver.find_element(By.ID, "totp-secret").text
    assert driver.find_element(By.CSS_SELECTOR, ".qr svg").is_displayed()
    type_into(driver, "password", PASSWORD)
    type_into(driver, "confirm", PASSWORD)
    type_into(driver, "code", pyotp.TOTP(secret).at(clock.now), submit=True)
    codes = driver.find_elements(By.CSS_SELECTOR, "#recovery-codes code")
    assert len(codes) == 10
    for round_ in range(2):
        clock.now += 30
        driver.get(f"{base}/console/login")
        type_into(driver, "name", "alice")
        type_into(driver, "password", PASSWORD)
        type_into(driver, "code", pyotp.TOTP(secret).at(clock.now), submit=True)
        assert driver.find_element(By.TAG_NAME, "h1").text == "Welcome, alice", round_
        screens = driver.find_element(By.ID, "screens").text
        assert "Users and roles" in screens and "Screen-pop" not in screens
        # the shipped stylesheet applies under the strict CSP
        font = driver.execute_script("return getComputedStyle(document.body).fontFamily")
        assert "system-ui" in font
        page = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.CSS_SELECTOR, ".signout button").click()
        loaded(driver, page)
        assert driver.current_url.endswith("/console/login")
        driver.get(f"{base}/console/")
        assert driver.current_url.endswith("/console/login")  # signed out for good


@NEEDS_CHROMIUM
async def test_enrol_sign_out_sign_in_in_chromium(tmp_path: Path) -> None:
    clock = Clock()
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    console = Console.open(db, clock)
    token = console.accounts.add("alice", "owner", Actor("operator", "operator", "cli")).token
    server = AdminServer(create_app(Health(), Metrics(), console=console), "127.0.0.1", 0)
    await server.start()
    driver = await asyncio.to_thread(browser, tmp_path / "profile")
    try:
        base = f"http://127.0.0.1:{server.port}"
        await asyncio.to_thread(journey, driver, base, token, clock)
    finally:
        await asyncio.to_thread(driver.quit)
        await server.stop()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    actions = [(r.actor, r.action) for r in db.query(read_records)]
    db.close()
    assert actions.count(("alice", "console.signin")) == 2
    assert actions.count(("alice", "console.signout")) == 2
    assert ("alice", "console.enrol") in actions

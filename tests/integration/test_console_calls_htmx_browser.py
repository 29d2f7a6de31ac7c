"""The calls list's filter form with the htmx the console ships (static/htmx.min.js) in
Debian's Chromium: a quality reviewer changes the use case filter and only the table is
swapped (the page is not reloaded), under the strict CSP without a violation in the
browser's console log. Real uvicorn server, real SQLCipher store."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pyotp
import pytest

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.console.service import Console
from appliance.governance.use_cases import ensure_built_in
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from tests.integration.test_console_browser import (
    NEEDS_CHROMIUM,
    PASSWORD,
    browser,
    type_into,
)
from tests.integration.test_console_calls_browser import Clock, enrolled
from tests.integration.test_console_calls_use_case import NEWEST_FIRST, _seed

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.timeout(60),
    NEEDS_CHROMIUM,
]


def listed(driver: Any) -> list[str]:
    """The listed call ids, read in one script run (no stale rows mid-swap)."""
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('#calls tbody tr td:nth-child(2) a')]"
            ".map((a) => a.textContent)"
        )
    )


def journey(driver: Any, base: str, secret: str, clock: Clock) -> list[dict[str, Any]]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(f"{base}/console/login")
    type_into(driver, "name", "quinn")
    type_into(driver, "password", PASSWORD)
    type_into(driver, "code", pyotp.TOTP(secret).at(clock.now), submit=True)
    driver.get(f"{base}/console/calls")
    assert listed(driver) == NEWEST_FIRST
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return !!window.htmx"))
    driver.execute_script("window.notReloaded = true")  # gone if the page were reloaded
    Select(driver.find_element(By.ID, "use_case")).select_by_value("billing")
    WebDriverWait(driver, 10).until(lambda d: listed(d) == ["call-bill"])
    Select(driver.find_element(By.ID, "use_case")).select_by_value("scheduling")
    WebDriverWait(driver, 10).until(lambda d: listed(d) == ["call-old", "call-both", "call-book"])
    assert driver.execute_script("return window.notReloaded") is True
    assert driver.find_element(By.TAG_NAME, "h1").text == "Calls"  # the rest stays
    return list(driver.get_log("browser"))


async def test_changing_a_filter_swaps_the_table_under_the_strict_csp(tmp_path: Path) -> None:
    clock = Clock()
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    ensure_built_in(db, demo=False)
    await _seed(db, clock.now - 3600)
    console = Console.open(db, clock)
    secret = enrolled(console, clock, "quinn", "quality-reviewer")
    server = AdminServer(create_app(Health(), Metrics(), console=console), "127.0.0.1", 0)
    await server.start()
    driver = await asyncio.to_thread(browser, tmp_path / "profile")
    try:
        base = f"http://127.0.0.1:{server.port}"
        log = await asyncio.to_thread(journey, driver, base, secret, clock)
    finally:
        await asyncio.to_thread(driver.quit)
        await server.stop()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)
        db.close()
    violations = [
        e for e in log if e.get("source") == "security" or "security policy" in e["message"].lower()
    ]
    assert violations == []
    errors = [e for e in log if e.get("level") == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == []

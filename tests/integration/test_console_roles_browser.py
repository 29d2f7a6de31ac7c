"""The console's sign-in rules and roles in Debian's Chromium (Selenium, as
test_console_browser.py), on a real uvicorn server, the real store and a virtual clock:
three failed sign-ins lock the account (the right password and code are then refused
too); a session idle past its role's limit sends the next page to sign-in; and each
role's landing page links exactly the screens the table below names."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.console.roles import Role, idle_limit_s
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.db import Database
from tests.integration.test_console_browser import (
    NEEDS_CHROMIUM,
    PASSWORD,
    browser,
    type_into,
)
from tests.integration.test_console_calls_browser import Clock, enrolled

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.timeout(120),
    NEEDS_CHROMIUM,
]

# each role's landing page links these screens, no more (written out, not derived from
# appliance/console/roles.py, so a change to the roles table shows here)
NAVIGATION: dict[Role, set[str]] = {
    Role.OWNER: {"/console/calls", "/console/kb", "/console/schedule", "/console/use-cases",
                 "/console/users", "/console/health", "/console/reminders", "/console/consent"},
    Role.PLATFORM_ENGINEER: {"/console/calls", "/console/use-cases", "/console/health"},
    Role.COMPLIANCE_OFFICER: {"/console/calls", "/console/use-cases", "/console/audit"},
    Role.QUALITY_REVIEWER: {"/console/calls"},
    Role.CONTACT_CENTRE_LEAD: {"/console/calls", "/console/kb", "/console/schedule",
                               "/console/screenpop", "/console/reminders", "/console/consent"},
    Role.FRONT_DESK: {"/console/screenpop"},
}  # fmt: skip


def sign_in(driver: Any, base: str, name: str, password: str, code: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/console/login")
    type_into(driver, "name", name)
    type_into(driver, "password", password)
    type_into(driver, "code", code, submit=True)


def heading(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "h1").text)


def links(driver: Any) -> set[str]:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "#screens a")
    return {urlsplit(str(a.get_attribute("href"))).path for a in found}


def served(tmp_path: Path, journey: Callable[[Any, str, Console, Clock], None]) -> Database:
    """Run `journey(driver, base, console, clock)` against a fresh console; the store."""
    clock = Clock()
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    console = Console.open(db, clock)

    async def run() -> None:
        server = AdminServer(create_app(Health(), Metrics(), console=console), "127.0.0.1", 0)
        await server.start()
        driver = await asyncio.to_thread(browser, tmp_path / "profile")
        try:
            base = f"http://127.0.0.1:{server.port}"
            await asyncio.to_thread(journey, driver, base, console, clock)
        finally:
            await asyncio.to_thread(driver.quit)
            await server.stop()
            shutil.rmtree(tmp_path / "profile", ignore_errors=True)

    asyncio.run(run())
    return db


def lockout(driver: Any, base: str, console: Console, clock: Clock) -> None:
    secret = enrolled(console, clock, "lou", "quality-reviewer")
    for attempt in range(3):
        clock.now += 30
        sign_in(driver, base, "lou", "not the password at all", pyotp.TOTP(secret).at(clock.now))
        assert driver.current_url.endswith("/console/login"), attempt
        assert heading(driver) != "Welcome, lou"
    clock.now += 30
    sign_in(driver, base, "lou", PASSWORD, pyotp.TOTP(secret).at(clock.now))  # right, but locked
    assert heading(driver) != "Welcome, lou" and driver.current_url.endswith("/console/login")
    clock.now += 3 * 3600 + 30  # the lockout runs 3 h
    sign_in(driver, base, "lou", PASSWORD, pyotp.TOTP(secret).at(clock.now))
    assert heading(driver) == "Welcome, lou"


def test_three_failed_sign_ins_lock_the_account_in_chromium(tmp_path: Path) -> None:
    db = served(tmp_path, lockout)
    log = [(r.actor, r.action, r.outcome, r.reason_code) for r in db.query(read_records)]
    db.close()
    signins = [entry for entry in log if entry[1] in ("console.signin", "console.lockout")]
    assert signins == [
        ("lou", "console.signin", "failed", "bad-credentials"),
        ("lou", "console.signin", "failed", "bad-credentials"),
        ("lou", "console.signin", "failed", "bad-credentials"),
        ("lou", "console.lockout", "ok", "too-many-failures"),
        ("lou", "console.signin", "refused", "account-locked"),
        ("lou", "console.signin", "ok", "totp"),
    ]


def idle(driver: Any, base: str, console: Console, clock: Clock) -> None:
    for name, role in (("ida", Role.FRONT_DESK), ("oscar", Role.OWNER)):
        secret = enrolled(console, clock, name, role.value)
        clock.now += 30
        sign_in(driver, base, name, PASSWORD, pyotp.TOTP(secret).at(clock.now))
        assert heading(driver) == f"Welcome, {name}"
        clock.now += idle_limit_s(role) - 5  # still live: this request restarts the clock
        driver.get(f"{base}/console/")
        assert heading(driver) == f"Welcome, {name}"
        clock.now += idle_limit_s(role) + 1
        driver.get(f"{base}/console/")
        assert driver.current_url.endswith("/console/login"), name
        driver.back()  # the cached page is not shown again: no-store, the server decides
        driver.refresh()
        assert driver.current_url.endswith("/console/login"), name


def test_an_idle_session_ends_at_its_roles_limit_in_chromium(tmp_path: Path) -> None:
    assert (idle_limit_s(Role.FRONT_DESK), idle_limit_s(Role.OWNER)) == (900.0, 600.0)
    db = served(tmp_path, idle)
    log = [(r.actor, r.action, r.reason_code) for r in db.query(read_records)]
    db.close()
    expired = [entry for entry in log if entry[1] == "console.session.expired"]
    assert expired == [
        ("ida", "console.session.expired", "idle"),
        ("oscar", "console.session.expired", "idle"),
    ]


def roles(driver: Any, base: str, console: Console, clock: Clock) -> None:
    for role, expected in NAVIGATION.items():
        name = "user-" + role.value[:8]
        secret = enrolled(console, clock, name, role.value)
        clock.now += 30
        sign_in(driver, base, name, PASSWORD, pyotp.TOTP(secret).at(clock.now))
        assert heading(driver) == f"Welcome, {name}", role
        assert links(driver) == expected, role
        forbidden = sorted(set().union(*NAVIGATION.values()) - expected)
        for path in forbidden[:1]:  # one screen outside the role: refused, not shown
            driver.get(f"{base}{path}")
            assert "your role may not open this screen" in driver.page_source, (role, path)


def test_each_roles_landing_page_links_only_its_screens_in_chromium(tmp_path: Path) -> None:
    served(tmp_path, roles).close()

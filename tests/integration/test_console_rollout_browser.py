"""The use case screens in Debian's Chromium (Selenium, as test_console_browser.py), on a
real uvicorn server, the real store and a virtual clock: an owner requests a promotion,
a platform engineer approves it with a comment and their current code, and the owner
throws the agent's kill switch after the step-up page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest

from appliance.console.service import Console
from appliance.governance import signoff
from appliance.governance import use_cases as uc
from appliance.store.audit import read_records
from tests.integration.rollout_seed import simulated
from tests.integration.test_console_browser import (
    NEEDS_CHROMIUM,
    PASSWORD,
    loaded,
    type_into,
)
from tests.integration.test_console_calls_browser import Clock, enrolled
from tests.integration.test_console_roles_browser import heading, served, sign_in

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.timeout(120),
    NEEDS_CHROMIUM,
]
CASE = "/console/use-cases/clinic-information"


def press(driver: Any, css: str) -> None:
    """Press a button by keyboard (focus, Enter) and wait for the next page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, css).send_keys(Keys.ENTER)
    loaded(driver, page)


def text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)


def journey(driver: Any, base: str, console: Console, clock: Clock) -> None:
    from selenium.webdriver.common.by import By

    uc.ensure_built_in(console.db, demo=False, at=clock.now)
    olive = enrolled(console, clock, "olive", "owner")
    petra = enrolled(console, clock, "petra", "platform-engineer")
    simulated(console.db, "clinic-information", clock.now)
    clock.now += 30
    sign_in(driver, base, "olive", PASSWORD, pyotp.TOTP(olive).at(clock.now))
    driver.get(f"{base}/console/use-cases")
    assert driver.find_element(By.CSS_SELECTOR, "#case-clinic-information .gate").text == "fail"
    driver.find_element(By.LINK_TEXT, "clinic-information").click()
    assert heading(driver) == "Use case clinic-information"
    press(driver, "#ask button")
    assert text_of(driver, "own-request").startswith("Your request")
    clock.now += 30
    sign_in(driver, base, "petra", PASSWORD, pyotp.TOTP(petra).at(clock.now))
    driver.get(base + CASE)
    assert "olive asked for draft to simulated" in text_of(driver, "request")
    type_into(driver, "comment", "the simulation passed")
    clock.now += 30
    type_into(driver, "code", pyotp.TOTP(petra).at(clock.now), submit=True)
    assert text_of(driver, "state") == "simulated"
    assert "the simulation passed" in text_of(driver, "signoffs")
    assert not driver.find_elements(By.ID, "kill-agent")  # not the engineer's to throw
    clock.now += 30
    sign_in(driver, base, "olive", PASSWORD, pyotp.TOTP(olive).at(clock.now))
    driver.get(f"{base}/console/use-cases")
    press(driver, "#kill-agent button")
    assert driver.current_url.endswith("/console/step-up?next=/console/use-cases")
    clock.now += 30
    type_into(driver, "code", pyotp.TOTP(olive).at(clock.now), submit=True)
    assert driver.current_url.endswith("/console/use-cases")
    press(driver, "#kill-agent button")
    assert text_of(driver, "agent-state").startswith("The agent is killed")


def test_request_approve_and_kill_in_chromium(tmp_path: Path) -> None:
    db = served(tmp_path, journey)
    try:
        assert uc.states(db)["clinic-information"] == "simulated"
        assert uc.states(db)[uc.AGENT] == "killed"
        [signed] = signoff.signoffs(db, "clinic-information")
        assert (signed["requested_by"], signed["approved_by"]) == ("olive", "petra")
        log = [(r.actor, r.action, r.reason_code) for r in db.query(read_records)]
    finally:
        db.close()
    assert ("olive", "usecase.requested", "draft:simulated") in log
    assert ("olive", "usecase.killed", "killed") in log

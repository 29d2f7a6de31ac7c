"""The front desk's screen-pop in a real browser, fed by a real call: `appliance run` with
its defaults (the demo desk takes transfers), a front-desk user invited with
`appliance users add`, enrolled and signed in with TOTP in Debian's Chromium, the
screen-pop open; a pjsua2 caller asks for a person and the handoff packet the agent
writes appears on the page within 2 s of the handoff record's time (written by the
agent just before the REFER, which then reaches the demo desk). The packet shown is a PHI
read audited under her name."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest

from appliance.store.audit import read_records
from tests.e2e.conftest import Running
from tests.e2e.test_demo_run import wait_logged
from tests.e2e.workflow_support import Voice, dial, open_store
from tests.integration.test_console_browser import (
    NEEDS_CHROMIUM,
    PASSWORD,
    browser,
    type_into,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.timeout(300),
    NEEDS_CHROMIUM,
]
REQUIRED_S = 2.0  # the requirement: on the screen within 2 s of the handoff
# Records, in the page, the wall-clock time (ms) each packet card was added.
WATCH = """
window.seen = {};
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes)
    if (n.dataset && n.dataset.handoff) window.seen[n.dataset.handoff] = Date.now();
}).observe(document.getElementById("packets"), {childList: true});
"""


def sign_in_to_screenpop(driver: Any, base: str, link: str) -> None:
    """Enrol from the link (TOTP), sign in with the next step's code, open the screen-pop."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(link)
    secret = driver.find_element(By.ID, "totp-secret").text
    type_into(driver, "password", PASSWORD)
    type_into(driver, "confirm", PASSWORD)
    type_into(driver, "code", pyotp.TOTP(secret).now(), submit=True)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#recovery-codes code")) == 10
    driver.get(f"{base}/console/login")
    type_into(driver, "name", "dora")
    type_into(driver, "password", PASSWORD)
    # a code is used once: the next step's code (accepted within the clock skew allowed)
    type_into(driver, "code", pyotp.TOTP(secret).at(time.time() + 30), submit=True)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Welcome, dora"
    driver.get(f"{base}/console/screenpop")
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "status").text == "Live")
    driver.execute_script(WATCH)


def new_handoff(running: Running, since: float) -> tuple[str, str, float] | None:
    """(handoff id, reason, created_at) of the first packet written after `since`."""
    db = open_store(running.var)
    try:
        row = db.query(
            lambda c: c.execute(
                "SELECT handoff_id, reason, created_at FROM handoffs"
                " WHERE created_at >= ? ORDER BY seq LIMIT 1",
                (since,),
            ).fetchone()
        )
    finally:
        db.close()
    return None if row is None else (str(row[0]), str(row[1]), float(row[2]))


async def wait_for(what: str, timeout_s: float, probe: Any) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (found := await asyncio.to_thread(probe)) is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s")


async def test_a_real_transfer_pops_up_in_the_front_desks_browser_within_2_s(
    appliance: Running, models_dir: Path, tmp_path: Path
) -> None:
    added = appliance.cli("users", "add", "dora", "--role", "front-desk", timeout=60)
    assert added.returncode == 0, added.stderr
    link = re.search(r"http://\S+/console/enrol/\S+", added.stdout).group(0)  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{appliance.admin_port}"
    voice = await asyncio.to_thread(Voice.load, models_dir)
    driver = await asyncio.to_thread(browser, tmp_path / "profile")
    try:
        await asyncio.to_thread(sign_in_to_screenpop, driver, base, link)
        since = time.time()
        telephony, caller, recording = await dial(appliance.uri)
        try:
            await caller.agent_turn()  # the greeting
            await caller.speak(await asyncio.to_thread(voice.say, "Can I talk to a real person?"))
            handoff_id, reason, created_at = await wait_for(
                "the agent wrote no handoff packet", 90, lambda: new_handoff(appliance, since)
            )
            seen_ms = await wait_for(
                "the packet did not appear in the browser",
                30,
                lambda: driver.execute_script(
                    "return window.seen[arguments[0]] ?? null", handoff_id
                ),
            )
            # the REFER reached the demo desk with this packet's id
            await wait_logged(appliance, "demo front desk: a transfer arrived", 60, handoff_id)
        finally:
            recording.cancel()
            await telephony.stop()
        card = await asyncio.to_thread(
            lambda: driver.find_element("css selector", f'[data-handoff="{handoff_id}"]').text
        )
    finally:
        await asyncio.to_thread(driver.quit)
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    latency = seen_ms / 1000 - created_at
    print(f"screen-pop in chromium {latency:.3f} s after the handoff record")
    assert reason == "caller-request" and f"({reason})" in card and handoff_id in card
    assert latency <= REQUIRED_S, latency
    db = open_store(appliance.var)
    try:
        reads = [
            (r.actor, r.object_id)
            for r in db.query(read_records)
            if r.action == "phi.read" and r.object_id == handoff_id
        ]
    finally:
        db.close()
    assert reads == [("dora", handoff_id)]

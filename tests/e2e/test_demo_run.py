"""`appliance run` with the demo on (the defaults of `make run`): it started the demo front
desk beside the workers, a caller who asks for a human is transferred to it over real
SIP (REFER, followed by the caller's phone), and the desk logs the arrival on the
appliance's console; the demo clinic was seeded into the empty store (when its data is
in this checkout) or its absence was logged with a code."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.demo.config import CLINIC_DIR
from tests.e2e.conftest import Running
from tests.e2e.workflow_support import Voice, dial, open_store

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


async def wait_logged(running: Running, text: str, timeout_s: float, also: str = "") -> str:
    """The latest log line with `text` (and `also`): other tests share this appliance."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = [
            line for line in running.log.read_text().splitlines() if text in line and also in line
        ]
        if lines:
            return lines[-1]
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"not logged in {timeout_s} s: {text!r}\n{running.log.read_text()[-3000:]}"
    )


async def test_a_person_request_reaches_the_demo_front_desk(
    appliance: Running, models_dir: Path
) -> None:
    settings = load_settings(appliance.config)
    assert settings.demo.front_desk and not settings.workflows.front_desk_uri
    listening = await wait_logged(appliance, "demo front desk listening", 30)
    assert f"127.0.0.1:{settings.demo.front_desk_port}" in listening
    voice = Voice.load(models_dir)
    telephony, caller, recording = await dial(appliance.uri)
    try:
        await caller.agent_turn()  # the greeting
        await caller.speak(voice.say("I don't want to talk to a robot."))
        arrived = await wait_logged(
            appliance, "demo front desk: a transfer arrived", 60, '"reason": "consent-declined"'
        )
        assert f'"screenpop": "http://127.0.0.1:{appliance.admin_port}/screenpop/"' in arrived
        await asyncio.wait_for(caller.call.wait_ended(), 10)  # the agent left after the REFER
    finally:
        recording.cancel()
        await telephony.stop()


def test_the_demo_clinic_was_seeded_or_its_absence_logged(appliance: Running) -> None:
    if (CLINIC_DIR / "providers.csv").is_file():
        db = open_store(appliance.var)
        try:
            providers = db.query(lambda c: c.execute("SELECT COUNT(*) FROM providers").fetchone())
            seeded = db.query(
                lambda c: c.execute(
                    "SELECT COUNT(*) FROM audit WHERE action = 'demo.seeded'"
                ).fetchone()
            )
        finally:
            db.close()
        assert providers[0] > 0 and seeded[0] == 1
    else:
        log = appliance.log.read_text()
        assert '"msg": "demo clinic not seeded"' in log and '"code": "import-empty"' in log

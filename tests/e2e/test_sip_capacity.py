"""Capacity of the whole appliance through its Kamailio edge: with every worker full
(workers x 4 calls), the next caller gets the configured rejection at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.e2e.test_sipp import SCENARIOS, failed, sipp, successful

pytestmark = pytest.mark.e2e

WORKERS, CALLS_PER_WORKER = 2, 4  # the defaults the e2e appliance runs with


def rejected_scenario(tmp_path: Path, code: int) -> Path:
    scenario = tmp_path / "uac_rejected.xml"
    text = (SCENARIOS / "uac_rejected.xml").read_text().replace("__CODE__", str(code))
    scenario.write_text(text.replace("__RETRY__", "false"))
    return scenario


async def test_the_call_after_full_capacity_gets_busy_here(appliance, tmp_path) -> None:
    full = WORKERS * CALLS_PER_WORKER
    target = f"127.0.0.1:{appliance.sip_port}"
    holding = asyncio.create_task(
        asyncio.to_thread(
            sipp, target, "-sn", "uac", "-m", str(full), "-l", str(full), "-r", "20", "-d", "9000"
        )
    )
    await asyncio.sleep(3.0)  # all of them answered (each worker answers within ms)
    assert not holding.done()
    started = time.monotonic()
    extra = await asyncio.to_thread(
        sipp, target, "-sf", str(rejected_scenario(tmp_path, 486)), "-m", "1", timeout=30
    )
    assert extra.returncode == 0, extra.stdout[-3000:] + extra.stderr[-2000:]
    assert time.monotonic() - started < 5  # answered at once: never a hang
    held = await holding
    assert successful(held) == full and failed(held) == 0, held.stdout[-3000:]

"""Capacity of the whole appliance through its Kamailio edge: with every worker full
(workers x 4 calls), the next caller gets the configured rejection at once."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_sipp import SCENARIOS, failed, sipp, successful
from tests.e2e.test_sipp_flows import active_calls

pytestmark = pytest.mark.e2e

WORKERS, CALLS_PER_WORKER = 2, 4  # the defaults the e2e appliance runs with


async def wait_active(appliance, count: int, holding: asyncio.Task, timeout: float = 30) -> None:
    """Wait until the appliance's metrics show `count` calls in progress."""
    deadline = time.monotonic() + timeout
    while (active := await asyncio.to_thread(active_calls, appliance)) != count:
        assert not holding.done(), "the held calls ended before all of them were up"
        if time.monotonic() > deadline:
            raise AssertionError(f"{active} active calls, not {count}, after {timeout} s")
        await asyncio.sleep(0.1)


def rejected_scenario(tmp_path: Path, code: int) -> Path:
    scenario = tmp_path / "uac_rejected.xml"
    text = (SCENARIOS / "uac_rejected.xml").read_text().replace("__CODE__", str(code))
    scenario.write_text(text.replace("__RETRY__", "false"))
    return scenario


def passed_on(appliance) -> float:
    """The edge's count of worker 486s it passed on to the next worker (from /metrics)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(appliance.metrics())
        for sample in family.samples
        if sample.name == "appliance_sip_edge_refused_total"
        and sample.labels.get("reason") == "passed-on"
        and sample.labels.get("code") == "486"
    )


def sla(appliance) -> dict:
    """This month's platform report's SLA figures, as the CLI prints them."""
    month = datetime.now(UTC).strftime("%Y-%m")
    out = appliance.cli("governance", "platform", "--month", month, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["sla"]


async def wait_for(check, what: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(1.0)


async def test_the_call_after_full_capacity_gets_busy_here(appliance, tmp_path) -> None:
    full = WORKERS * CALLS_PER_WORKER
    passed_before, refused_before = passed_on(appliance), sla(appliance)["refused_at_edge"]
    target = f"127.0.0.1:{appliance.sip_port}"
    holding = asyncio.create_task(
        asyncio.to_thread(
            sipp, target, "-sn", "uac", "-m", str(full), "-l", str(full), "-r", "20", "-d", "9000"
        )
    )
    await wait_active(appliance, full, holding)  # every slot taken
    extra = await asyncio.to_thread(
        sipp, target, "-sf", str(rejected_scenario(tmp_path, 486)), "-m", "1", timeout=30
    )
    assert extra.returncode == 0, extra.stdout[-3000:] + extra.stderr[-2000:]
    # refused while every held call was still up (they hang up 9 s after the answer):
    # at once, not queued until a slot freed
    assert not holding.done() and await asyncio.to_thread(active_calls, appliance) == full
    held = await holding
    assert successful(held) == full and failed(held) == 0, held.stdout[-3000:]
    # both workers refused it (pjsua's own 486: every call slot taken, the appliance's
    # code never saw it); the edge passed the first 486 on and counted the call as
    # refused by every worker, once, in the platform report's offered calls
    await wait_for(lambda: passed_on(appliance) == passed_before + 1, "the edge's passed-on")
    await wait_for(
        lambda: sla(appliance)["refused_at_edge"] == refused_before + 1,
        "one refused call in the platform report",
    )


def _bench():  # bench/ is not a package: load bench/sip_capacity.py by path
    import importlib.util

    path = Path(__file__).parents[2] / "bench" / "sip_capacity.py"
    spec = importlib.util.spec_from_file_location("sip_capacity", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_twenty_calls_with_audio_for_sixty_seconds_all_complete(tmp_path, models_dir) -> None:
    """Its own appliance with 5 workers (20 calls / 4 per worker); the figures it prints are
    those of bench/sip_capacity.py (the same code)."""
    import argparse
    import json

    bench = _bench()
    args = argparse.Namespace(calls=20, seconds=60, echo=False, models=models_dir)
    result = bench.measure(args, tmp_path)
    print(json.dumps(result, indent=2))
    assert result["sipp"]["successful"] == 20 and result["sipp"]["failed"] == 0, result["sipp"]
    assert result["store_outcomes"].get("caller-hung-up") == 20, result["store_outcomes"]
    frames = result["per_call_frames"]
    assert frames["tx_packets"]["n"] == 20
    # every call got (nearly) all of its 50 frames a second both ways
    expected = 50 * (60 - 2)
    assert frames["tx_missing"]["max"] < 0.05 * expected, frames
    assert frames["rx_packets"]["n"] == 20
    assert frames["rx_lost"]["max"] < 0.05 * expected, frames

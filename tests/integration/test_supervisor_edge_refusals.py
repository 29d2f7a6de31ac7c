"""`appliance run` has no edge beacon: its supervisor reads the INVITEs the Kamailio edge
refused itself, serves them on its /metrics as the admin serves the edge unit's beacon
(`appliance_sip_edge_refused_total{code,reason,component}`) and stores them per day for
the platform report. A real Kamailio started by the supervisor's own SipEdge, SIPp
calling from a source the ACL refuses; the supervisor's watcher and store job run as
`appliance run` starts them; a real SQLCipher store.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from appliance.config import load_settings
from appliance.edge.kamailio import options_ping
from appliance.governance.edge_refusals import refused_between
from appliance.services.app_db import open_store
from appliance.services.supervisor import Supervisor
from tests.conftest import free_port
from tests.integration.test_sip_edge import rejected

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

LINE = 'appliance_sip_edge_refused_total{code="403",component="sip-edge",reason="acl"} 2.0'


async def wait_for(
    check: Callable[[], Awaitable[bool]], what: str, deadline_s: float = 40.0
) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"never: {what}")


async def test_appliance_run_serves_and_stores_the_edge_refusals(tmp_path: Path) -> None:
    var = Path(tempfile.mkdtemp(prefix="sup-"))  # short: it holds unix sockets
    config = tmp_path / "appliance.toml"
    config.write_text(
        f'[paths]\nvar_dir = "{var}"\n[demo]\nfront_desk = false\n'
        f'[workflows]\nllm_intents = "never"\n'
        f'[sip]\nhost = "127.0.0.1"\nport = {free_port()}\nworkers = 1\n'
        f'worker_port = {free_port()}\nallowed_sources = ["127.0.0.1/32"]\nacl_reply = 403\n'
        # a store of its own (the default is the checkout's var/appliance.db)
        f'[store]\ndb_file = "{var}/appliance.db"\nkey_file = "{var}/keys/db.key"\n'
        f'audit_key_file = "{var}/keys/audit-signing.key"\n'
    )
    settings = load_settings(config)
    (var / "run").mkdir(parents=True)
    (var / "log").mkdir()
    sup = Supervisor(settings, config)
    db, _ = open_store(settings)
    today = datetime.now(UTC).date().isoformat()

    async def stored() -> dict[str, int]:
        return await db.run_query(refused_between, today, "9999-12-31")

    async def stored_two() -> bool:
        return await stored() == {"acl": 2}

    try:
        await sup.edge.start()
        await wait_for(lambda: options_ping("127.0.0.1", settings.sip.port, 0.2), "OPTIONS")
        watching = sup.watch(None)  # type: ignore[arg-type]  # no LLM: llm_intents never
        jobs = [asyncio.create_task(watching), asyncio.create_task(sup.store_refusals(db))]
        for _ in range(2):  # not an allowed source: the edge's own 403, reason acl
            await asyncio.to_thread(rejected, settings.sip.port, 403, False, "127.0.0.2")

        async def served() -> bool:
            text = generate_latest(sup.metrics.exposition_registry()).decode()
            return LINE in text

        await wait_for(served, f"{LINE} on /metrics")
        await wait_for(stored_two, "the 2 acl refusals stored")
        sup.stop.set()
        await asyncio.gather(*jobs)
        await sup.shutdown()  # the last totals read before Kamailio stops, stored once
        await sup.store_refusals(db)
        assert await stored() == {"acl": 2}  # neither lost nor counted twice
    finally:
        await sup.edge.stop()
        db.close()
        shutil.rmtree(var, ignore_errors=True)

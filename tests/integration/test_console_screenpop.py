"""The console's per-user screen-pop on a real uvicorn server and a real SQLCipher store
shared with another process (the "agent" writes the packet there): a front-desk user
signed in with her own account sees a new handoff within 2 s, each packet shown is a PHI
read audited under her name, roles without the screen-pop are refused, and the stream
ends with the session (idle logoff: an open stream does not keep a session alive)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyotp
import pytest

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.console import screenpop
from appliance.console.accounts import Actor
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.db import Database
from tests.integration.test_handoff_screenpop import (
    KEY,
    next_handoff,
    packet,
    write_in_other_process,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Console, Clock]]:
    monkeypatch.setattr(screenpop, "POLL_S", 0.05)
    monkeypatch.setattr(screenpop, "CHECK_S", 0.2)
    db = Database.open(tmp_path / "store.db", KEY, MIGRATIONS)
    clock = Clock()
    console = Console.open(db, clock)
    server = AdminServer(create_app(Health(), Metrics(), console=console), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", console, clock
    finally:
        await server.stop()
        db.close()


async def signed_in(
    client: httpx.AsyncClient, console: Console, clock: Clock, name: str, role: str
) -> None:
    token = console.accounts.add(name, role, Actor("operator", "operator", "cli")).token
    secret = console.accounts.enrolment(token).totp_secret
    await asyncio.to_thread(
        console.accounts.enrol, token, PASSWORD, PASSWORD, pyotp.TOTP(secret).at(clock.now)
    )
    clock.now += 30
    form = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', form.text).group(1)  # type: ignore[union-attr]
    data = {
        "csrf": csrf,
        "name": name,
        "password": PASSWORD,
        "code": pyotp.TOTP(secret).at(clock.now),
    }
    assert (await client.post("/console/login", data=data)).status_code == 303


async def test_a_handoff_pops_up_for_the_signed_in_user_within_2_s(
    served: tuple[str, Console, Clock], tmp_path: Path
) -> None:
    base, console, clock = served
    body = packet("call-77")
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        await signed_in(client, console, clock, "dora", "front-desk")
        page = await client.get("/console/screenpop")
        assert page.status_code == 200 and 'src="/console/screenpop/screenpop.js"' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        script = await client.get("/console/screenpop/screenpop.js")
        assert "textContent" in script.text and "innerHTML" not in script.text
        async with client.stream("GET", "/console/screenpop/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            written = await asyncio.to_thread(write_in_other_process, tmp_path / "store.db", body)
            shown = await asyncio.wait_for(next_handoff(response), 10)
            latency = time.time() - written  # from the commit (not the writer's start-up)
    assert shown == body and latency < 2.0, latency
    reads = [r for r in console.db.query(read_records) if r.action == "phi.read"]
    assert [(r.actor, r.object_id, r.call_id) for r in reads] == [
        ("dora", body["handoff_id"], "call-77")
    ]
    assert "Gonzalez" not in repr(console.db.query(read_records))


async def test_roles_without_the_screen_pop_are_refused(served: tuple[str, Console, Clock]) -> None:
    base, console, clock = served
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        assert (await client.get("/console/screenpop/events")).status_code == 401
        await signed_in(client, console, clock, "olga", "owner")
        for path in (
            "/console/screenpop",
            "/console/screenpop/events",
            "/console/screenpop/screenpop.js",
        ):
            assert (await client.get(path)).status_code == 403, path
        assert "/console/screenpop" not in (await client.get("/console/")).text


async def test_the_stream_ends_with_the_session(served: tuple[str, Console, Clock]) -> None:
    base, console, clock = served
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        await signed_in(client, console, clock, "dora", "front-desk")
        async with client.stream("GET", "/console/screenpop/events") as response:
            clock.now += 10 * 60
            await asyncio.sleep(0.5)  # checked while live: the idle clock is not restarted,
            clock.now += 5 * 60  # so 15 minutes after the last request it ends
            lines = []
            async with asyncio.timeout(5):
                async for line in response.aiter_lines():
                    lines.append(line)
            assert "event: signed-out" in lines
        assert (await client.get("/console/screenpop/events")).status_code == 401
    expired = [r for r in console.db.query(read_records) if r.action == "console.session.expired"]
    assert [(r.actor, r.reason_code) for r in expired] == [("dora", "idle")]

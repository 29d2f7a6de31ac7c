"""The console over HTTP on the real store: every /console route refuses a request
without a session (enumerated from the app on a real uvicorn server), enrolment, sign-in,
sign-out, CSRF, idle logoff, step-up and role guards (litestar's test client, a virtual
clock)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.console.accounts import Actor
from appliance.console.guard import GuardedController, requires, requires_fresh_totp
from appliance.console.roles import Permission
from appliance.console.routes import PUBLIC, ConsoleController, PublicController
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.db import Database

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
CLI = Actor("operator", "operator", "cli")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def console(tmp_path: Path, clock: Clock) -> Iterator[Console]:
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    yield Console.open(db, clock)
    db.close()


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)


def enrol(
    client: TestClient[Litestar], console: Console, clock: Clock, name: str, role: str
) -> str:
    """Enrol through the pages; the TOTP secret read from the page."""
    token = console.accounts.add(name, role, CLI).token
    form = client.get(f"/console/enrol/{token}")
    assert form.status_code == 200 and "<svg" in form.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', form.text).group(1)  # type: ignore[union-attr]
    data = {
        "csrf": hidden(form.text, "csrf"),
        "password": PASSWORD,
        "confirm": PASSWORD,
        "code": pyotp.TOTP(secret).at(clock.now),
    }
    done = client.post(f"/console/enrol/{token}", data=data)
    assert done.status_code == 200 and 'id="recovery-codes"' in done.text
    assert client.get(f"/console/enrol/{token}").status_code == 410  # used up
    clock.now += 30
    return secret


def sign_in(client: TestClient[Litestar], clock: Clock, name: str, secret: str) -> httpx.Response:
    csrf = hidden(client.get("/console/login").text, "csrf")
    data = {
        "csrf": csrf,
        "name": name,
        "password": PASSWORD,
        "code": pyotp.TOTP(secret).at(clock.now),
    }
    return client.post("/console/login", data=data, follow_redirects=False)


def routes(app: Litestar) -> list[tuple[str, str, bool]]:
    """(method, path, is API) of every /console route the app serves."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/console"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path, bool(handler.opt.get("api"))))
    return found


async def test_every_console_route_refuses_an_unauthenticated_request(console: Console) -> None:
    app = create_app(Health(), Metrics(), console=console)
    listed = routes(app)
    assert {path for _, path, _ in listed} >= PUBLIC  # the public list names real routes
    guarded = [(m, p, api) for m, p, api in listed if p not in PUBLIC]
    assert len(guarded) >= 5
    server = AdminServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, follow_redirects=False) as client:
            for method, path, api in guarded:
                url = re.sub(r"\{[^}]+:int\}", "1", path)  # a typed parameter must parse
                url = re.sub(r"\{[^}]+\}", "x", url)
                for cookies in ({}, {"console_session": "forged"}):
                    client.cookies = httpx.Cookies(cookies)
                    response = await client.request(method, url, data={"csrf": "x"})
                    if api:
                        assert response.status_code == 401, (method, path)
                    else:
                        assert response.status_code == 303, (method, path)
                        assert response.headers["location"] == "/console/login"
            client.cookies = httpx.Cookies()
            for method, path, _ in listed:
                if path in PUBLIC and method == "POST":  # no CSRF cookie: refused
                    url = re.sub(r"\{[^}]+\}", "x", path)
                    assert (await client.post(url, data={"csrf": "x"})).status_code == 403
    finally:
        await server.stop()


def test_enrol_sign_in_and_out(console: Console, clock: Clock) -> None:
    app = create_app(Health(), Metrics(), console=console)
    with TestClient(app) as client:
        secret = enrol(client, console, clock, "alice", "owner")
        signed = sign_in(client, clock, "alice", secret)
        assert signed.status_code == 303 and signed.headers["location"] == "/console/"
        set_cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=strict" in set_cookie
        assert "path=/console" in set_cookie
        home = client.get("/console/")
        assert home.status_code == 200 and "Users and roles" in home.text
        assert "Screen-pop" not in home.text  # not the owner's screen
        assert home.headers["content-security-policy"].startswith("default-src 'self'")
        assert home.headers["cache-control"] == "no-store"
        assert client.get("/console/api/me").json()["role"] == "owner"
        csrf = hidden(home.text, "csrf")
        assert client.post("/console/logout", data={"csrf": "wrong"}).status_code == 403
        out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
        assert out.status_code == 303
        assert client.get("/console/api/me").status_code == 401
    log = [(r.actor, r.action) for r in console.accounts.db.query(read_records)]
    assert ("alice", "console.enrol") in log and ("alice", "console.signin") in log
    assert ("alice", "console.signout") in log


def test_a_failed_sign_in_keeps_the_name_not_the_secrets(console: Console, clock: Clock) -> None:
    app = create_app(Health(), Metrics(), console=console)
    with TestClient(app) as client:
        secret = enrol(client, console, clock, "bob", "front-desk")
        csrf = hidden(client.get("/console/login").text, "csrf")
        data = {"csrf": csrf, "name": "bob", "password": "wrong-" + PASSWORD, "code": "123456"}
        failed = client.post("/console/login", data=data)
        assert failed.status_code == 401 and 'value="bob"' in failed.text
        assert "wrong-" not in failed.text and "123456" not in failed.text
        assert sign_in(client, clock, "bob", secret).status_code == 303
        assert "Screen-pop" in client.get("/console/").text


def test_idle_logoff_over_http(console: Console, clock: Clock) -> None:
    app = create_app(Health(), Metrics(), console=console)
    with TestClient(app) as client:
        secret = enrol(client, console, clock, "carol", "platform-engineer")
        sign_in(client, clock, "carol", secret)
        clock.now += 9 * 60
        assert client.get("/console/", follow_redirects=False).status_code == 200
        clock.now += 10 * 60
        gone = client.get("/console/", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"] == "/console/login"


class SensitiveScreen(GuardedController):
    @get(
        "/users-test",
        guards=[requires(Permission.MANAGE_USERS), requires_fresh_totp],
        sync_to_thread=False,
    )
    def users(self) -> str:
        return "sensitive"


def test_role_and_step_up_guards(console: Console, clock: Clock) -> None:
    app = Litestar(
        route_handlers=[PublicController, ConsoleController, SensitiveScreen],
        state=State({"console": console}),
        logging_config=None,  # as the product's app: litestar's default would configure
    )  # the process's "litestar" logger (its own stderr handler, no redaction) for later tests
    with TestClient(app) as client:
        desk = enrol(client, console, clock, "dora", "front-desk")
        sign_in(client, clock, "dora", desk)
        assert client.get("/console/users-test").status_code == 403  # the role may not
        client.cookies.clear()
        owner = enrol(client, console, clock, "olga", "owner")
        sign_in(client, clock, "olga", owner)
        asked = client.get("/console/users-test", follow_redirects=False)
        assert asked.status_code == 303
        assert asked.headers["location"] == "/console/step-up?next=/console/users-test"
        form = client.get(asked.headers["location"]).text
        data = {
            "csrf": hidden(form, "csrf"),
            "next": hidden(form, "next"),
            "code": pyotp.TOTP(owner).at(clock.now),
        }  # the sign-in's step: a replay
        assert client.post("/console/step-up", data=data).status_code == 400
        clock.now += 30
        data["code"] = pyotp.TOTP(owner).at(clock.now)
        done = client.post("/console/step-up", data=data, follow_redirects=False)
        assert done.headers["location"] == "/console/users-test"
        assert client.get("/console/users-test").text == "sensitive"
        clock.now += 5 * 60 + 1  # the fresh code counts for 5 minutes
        assert client.get("/console/users-test", follow_redirects=False).status_code == 303


def test_users_cli_invites_lists_unlocks_and_disables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from appliance.cli.main import main
    from appliance.console.credentials import token_hash
    from tests.conftest import store_config

    config = str(store_config(tmp_path))
    assert main(["--config", config, "users", "add", "Alice", "--role", "owner"]) == 0
    out = capsys.readouterr().out
    link = re.search(r"http://127\.0\.0\.1:\d+/console/enrol/([A-Za-z0-9_-]{43})$", out, re.M)
    assert link and "alice (owner)" in out
    assert main(["--config", config, "users", "add", "alice", "--role", "owner"]) == 2
    assert "console-user-exists" in capsys.readouterr().err
    assert main(["--config", config, "users", "unlock", "alice"]) == 0
    assert main(["--config", config, "users", "disable", "alice"]) == 0
    assert main(["--config", config, "users", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()[-1].split()
    assert listed == ["alice", "owner", "disabled"]
    from appliance.config import load_settings
    from appliance.store.bootstrap import open_database

    db = open_database(load_settings(Path(config)), MIGRATIONS)
    try:
        digest = db.query(
            lambda c: c.execute("SELECT token_hash FROM console_enrolments").fetchone()[0]
        )
        actions = [r.action for r in db.query(read_records)]
    finally:
        db.close()
    assert digest == token_hash(link.group(1))
    assert {"console.user.add", "console.user.unlock", "console.user.disable"} <= set(actions)


def test_cookies_are_secure_over_tls(console: Console) -> None:
    app = create_app(Health(), Metrics(), console=console)
    with TestClient(app, base_url="https://console.test") as client:
        assert "secure" in client.get("/console/login").headers["set-cookie"].lower()
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert "secure" not in client.get("/console/login").headers["set-cookie"].lower()

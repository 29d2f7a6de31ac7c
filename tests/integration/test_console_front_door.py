"""The admin app's front door: `/` leads to the console (health and metrics stay where
they are), and the shared-token /screenpop answers only machine clients on the appliance
itself unless [admin] screenpop_remote is set; people use /console/screenpop."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.admin.screenpop import ScreenPop
from appliance.config import load_settings
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.store.db import Database
from appliance.workflows.handoff_store import HandoffStore
from tests.integration import test_console_screens as screens

pytestmark = pytest.mark.integration
db = screens.db
TOKEN = bytes(range(32))


def test_the_root_redirects_to_the_console_and_ops_stay(db: Database) -> None:
    health = Health()
    health.set("store", True, "sqlcipher")
    with TestClient(create_app(health, Metrics(), console=Console.open(db))) as client:
        root = client.get("/", follow_redirects=False)
        assert root.status_code == 303 and root.headers["location"] == "/console/"
        assert client.get("/").url.path == "/console/login"  # followed: not signed in
        assert client.get("/healthz").json()["status"] == "ok"
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "# TYPE" in metrics.text
    with TestClient(create_app(health, Metrics())) as client:  # no console: nothing at /
        assert client.get("/", follow_redirects=False).status_code == 404


def test_the_shared_token_screenpop_refuses_other_addresses(db: Database) -> None:
    """litestar's test client comes from the address "testclient", not loopback."""
    auth = {"authorization": f"Bearer {TOKEN.hex()}"}
    pop = ScreenPop(HandoffStore(db), TOKEN)
    with TestClient(create_app(Health(), Metrics(), screenpop=pop)) as client:
        page = client.get("/screenpop/")
        assert page.status_code == 403 and "/console/screenpop" in page.text
        assert client.get("/screenpop/events", headers=auth).status_code == 403
        login = client.post("/screenpop/login", data={"token": TOKEN.hex()})
        assert login.status_code == 403
    remote = ScreenPop(HandoffStore(db), TOKEN, remote=True)
    with TestClient(create_app(Health(), Metrics(), screenpop=remote)) as client:
        page = client.get("/screenpop/")
        assert page.status_code == 200 and 'href="/console/screenpop"' in page.text
    assert pop.serves("127.0.0.1") and pop.serves("::1") and not pop.serves("192.0.2.7")
    assert not pop.serves(None) and not pop.serves("testclient")
    assert pop.serves("::ffff:127.0.0.1") and not pop.serves("::ffff:192.0.2.7")


def test_the_setting_reaches_the_screenpop(db: Database, tmp_path: Path) -> None:
    key = tmp_path / "screenpop.key"
    config = tmp_path / "appliance.toml"
    text = f'[paths]\nvar_dir = "{tmp_path}"\n[admin]\nscreenpop_key_file = "{key}"\n'
    config.write_text(text)
    assert ScreenPop.from_settings(load_settings(config), db).remote is False
    config.write_text(text + "screenpop_remote = true\n")
    assert ScreenPop.from_settings(load_settings(config), db).remote is True

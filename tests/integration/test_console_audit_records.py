"""Audit records of the console's own reads and session ends, on the real store (litestar's
test client, a virtual clock): opening the audit log is a record `audit.view` naming the
compliance officer (shown on the page it opens)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.console.service import Console
from appliance.store.audit import read_records
from appliance.store.db import Database
from tests.integration import test_console_screens as screens
from tests.integration.test_console_screens import WallClock, audit_log, sign_in_as

# the screens' fixtures: the real store, the seeded calls, the console and the app
db, clock, seeded, console, app = (
    screens.db,
    screens.clock,
    screens.seeded,
    screens.console,
    screens.app,
)

pytestmark = pytest.mark.integration


def test_opening_the_audit_log_is_an_audit_record_naming_the_user(
    app: Litestar, console: Console, clock: WallClock, db: Database
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "pete", "platform-engineer")
        assert client.get("/console/audit").status_code == 403  # no view-audit: no record
        sign_in_as(client, console, clock, "cora", "compliance-officer")
        assert not [a for a in audit_log(db) if a[1] == "audit.view"]
        page = client.get("/console/audit")
        assert page.status_code == 200 and "audit.view" in page.text  # the page shows it
        client.get("/console/audit", params={"user": "Zelda Quasimodo"})
    views = [r for r in db.query(read_records) if r.action == "audit.view"]
    assert [(r.actor, r.actor_role, r.object_type, r.outcome, r.reason_code) for r in views] == [
        ("cora", "compliance-officer", "audit-log", "ok", None),
        ("cora", "compliance-officer", "audit-log", "ok", "filtered"),
    ]
    assert "Zelda" not in repr(views)  # the filter's text is not recorded

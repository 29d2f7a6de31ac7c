"""Audit records of the console's own reads and session ends, on the real store (litestar's
test client, a virtual clock): opening the audit log is a record `audit.view` naming the
compliance officer (shown on the page it opens); a role change ends the user's open
sessions with end reason `role-changed`, each end audited as the other session ends are
(`console.session.expired` naming the user and the role the session had)."""

from __future__ import annotations

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.console.service import Console
from appliance.store.audit import read_records
from appliance.store.db import Database
from tests.integration import test_console_screens as screens
from tests.integration.test_console import PASSWORD, hidden
from tests.integration.test_console_screens import WallClock, audit_log, csrf_of, sign_in_as
from tests.integration.test_console_users import step_up

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


def test_a_role_change_ends_the_users_sessions_and_each_end_is_audited(
    app: Litestar, console: Console, clock: WallClock, db: Database
) -> None:
    with TestClient(app) as fred, TestClient(app) as fred2, TestClient(app) as olga:
        fred_secret = sign_in_as(fred, console, clock, "fred", "front-desk")
        csrf = hidden(fred2.get("/console/login").text, "csrf")
        code = pyotp.TOTP(fred_secret).at(clock.now)
        login = {"csrf": csrf, "name": "fred", "password": PASSWORD, "code": code}
        assert fred2.post("/console/login", data=login, follow_redirects=False).status_code == 303
        clock.now += 30
        for desk in (fred, fred2):  # two open sessions
            assert desk.get("/console/", follow_redirects=False).status_code == 200
        secret = sign_in_as(olga, console, clock, "olga", "owner")
        step_up(olga, clock, secret)
        data = {"csrf": csrf_of(olga), "role": "quality-reviewer"}
        done = olga.post("/console/users/fred/role", data=data, follow_redirects=False)
        assert done.status_code == 303
        for desk in (fred, fred2):
            gone = desk.get("/console/", follow_redirects=False)
            assert gone.status_code == 303 and gone.headers["location"] == "/console/login"
    ends = db.query(
        lambda c: c.execute(
            "SELECT s.end_reason FROM console_sessions s JOIN console_users u USING (user_id)"
            " WHERE u.name = 'fred'"
        ).fetchall()
    )
    assert [r[0] for r in ends] == ["role-changed", "role-changed"]
    log = [(r.actor, r.actor_role, r.action, r.reason_code) for r in db.query(read_records)]
    ended = [e for e in log if e[2] == "console.session.expired"]
    assert ended == [("fred", "front-desk", "console.session.expired", "role-changed")] * 2
    change = log.index(("olga", "owner", "console.user.role", "front-desk>quality-reviewer"))
    assert log.index(ended[0]) < change  # the ends are recorded in the change's transaction

# ruff: noqa: F811 (the screens tests' fixtures, imported, are parameters here)
"""Flag as complaint, on the console's call page over HTTP on the real store: the roles
with flag-complaint only, CSRF, a reason from the fixed list, the flag shown on the page
and audited naming the user (no words), and the table append-only."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.console.service import Console
from appliance.errors import StoreError
from appliance.governance.complaints import ACTION, flags_of
from appliance.store.audit import read_records
from appliance.store.db import Connection, Database
from tests.integration.console_seed import CALLER_WORDS, Seeded
from tests.integration.test_console_screens import (  # noqa: F401 (fixtures)
    WallClock,
    app,
    audit_log,
    clock,
    console,
    csrf_of,
    db,
    seeded,
    sign_in_as,
)

pytestmark = pytest.mark.integration


def test_a_reviewer_flags_a_call_and_the_flag_is_audited_under_their_name(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    url = f"/console/calls/{seeded.escalated}"
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "rita", "quality-reviewer")
        page = client.get(url).text
        assert 'id="flag-complaint"' in page and "Not flagged as a complaint." in page
        forged = client.post(
            f"{url}/complaint",
            data={"csrf": "forged", "reason": "caller-complained"},
            follow_redirects=False,
        )
        assert forged.status_code == 403
        bad = client.post(
            f"{url}/complaint",
            data={"csrf": csrf_of(client), "reason": "rude words here"},
            follow_redirects=False,
        )
        assert bad.status_code == 303
        assert bad.headers["location"] == f"{url}?error=complaint-bad-reason"
        assert console.db.query(flags_of, seeded.escalated) == []
        done = client.post(
            f"{url}/complaint",
            data={"csrf": csrf_of(client), "reason": "caller-complained"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == f"{url}#complaint"
        page = client.get(url).text
        assert "caller-complained, flagged by rita" in page and CALLER_WORDS not in page
    flags = console.db.query(flags_of, seeded.escalated)
    assert [(by, reason) for by, _, reason in flags] == [("rita", "caller-complained")]
    assert (
        "rita", ACTION, seeded.escalated, "ok", "caller-complained"
    ) in audit_log(console.db)  # fmt: skip
    record = next(r for r in console.db.query(read_records) if r.action == ACTION)
    assert record.actor_role == "quality-reviewer" and record.component == "console"
    assert record.call_id == seeded.escalated


def test_a_role_without_the_permission_is_refused_and_sees_no_form(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    url = f"/console/calls/{seeded.escalated}"
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "pat", "platform-engineer")
        assert 'id="flag-complaint"' not in client.get(url).text
        refused = client.post(
            f"{url}/complaint",
            data={"csrf": csrf_of(client), "reason": "other"},
            follow_redirects=False,
        )
        assert refused.status_code == 403
        sign_in_as(client, console, clock, "lee", "contact-centre-lead")
        assert 'id="flag-complaint"' in client.get(url).text
    assert console.db.query(flags_of, seeded.escalated) == []


@pytest.mark.parametrize(
    "sql",
    ["UPDATE complaint_flags SET reason = 'other'", "DELETE FROM complaint_flags"],
    ids=["update", "delete"],
)
def test_flags_are_append_only(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded, db: Database, sql: str
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "rita", "quality-reviewer")
        client.post(
            f"/console/calls/{seeded.escalated}/complaint",
            data={"csrf": csrf_of(client), "reason": "wrong-handling"},
        )

    def tamper(conn: Connection) -> None:
        conn.execute(sql)

    with pytest.raises(StoreError) as err:
        db.execute(tamper)
    assert err.value.code == "store-write-failed"
    assert [r for _, _, r in db.query(flags_of, seeded.escalated)] == ["wrong-handling"]

"""The users and roles screen on the real store (litestar's test client, a virtual
clock): the owner lists users with role, state, last sign-in and lockout; every change
(invite, unlock, change role, disable) needs a fresh authenticator code and is audited
naming the owner; the invitation's link enrols; the last active owner can be neither
disabled nor demoted."""

from __future__ import annotations

import re

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.console.service import Console
from appliance.errors import ConsoleError
from appliance.store.audit import read_records
from appliance.store.db import Database
from tests.integration import test_console_screens as screens
from tests.integration.console_seed import Seeded
from tests.integration.test_console import PASSWORD, hidden
from tests.integration.test_console_screens import WallClock, audit_log, csrf_of, sign_in_as

# the screens' fixtures: the real store, the seeded calls, the console and the app
db, clock, seeded, console, app = (
    screens.db,
    screens.clock,
    screens.seeded,
    screens.console,
    screens.app,
)

pytestmark = pytest.mark.integration


def step_up(client: TestClient[Litestar], clock: WallClock, secret: str) -> None:
    asked = client.post("/console/users", data={"csrf": csrf_of(client), "name": "x"})
    assert asked.url.path == "/console/step-up"  # followed: the step-up page
    data = {
        "csrf": hidden(asked.text, "csrf"),
        "next": hidden(asked.text, "next"),
        "code": pyotp.TOTP(secret).at(clock.now),
    }
    done = client.post("/console/step-up", data=data, follow_redirects=False)
    assert done.headers["location"] == "/console/users"


def lock(console: Console, name: str) -> None:
    for _ in range(3):
        with pytest.raises(ConsoleError):
            console.signin.sign_in(name, "wrong password here", "000000")


def test_the_owner_lists_invites_unlocks_changes_and_disables(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "lena", "contact-centre-lead")
        secret = sign_in_as(client, console, clock, "olga", "owner")
        lock(console, "lena")
        page = client.get("/console/users")
        assert page.status_code == 200 and 'id="needs-step-up"' in page.text
        lena = page.text[page.text.index('id="user-lena"') :].split("</tr>")[0]
        assert "contact-centre-lead" in lena and "active" in lena and "until " in lena
        assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", lena)  # last sign-in
        assert 'action="/console/users/lena/unlock"' in lena
        # nothing changes without a fresh code
        before = len(audit_log(db))
        refused = client.post(
            "/console/users/lena/unlock", data={"csrf": csrf_of(client)}, follow_redirects=False
        )
        assert refused.headers["location"] == "/console/step-up?next=/console/users"
        assert console.accounts.get("lena").locked_until is not None  # type: ignore[union-attr]
        forged = client.post("/console/users", data={"csrf": "forged", "name": "eve"})
        assert forged.status_code == 403 and console.accounts.get("eve") is None
        assert [a for a in audit_log(db)[before:] if a[1].startswith("console.user")] == []
        step_up(client, clock, secret)
        assert 'id="fresh"' in client.get("/console/users").text
        # invite: the link is shown once and enrols
        data = {"csrf": csrf_of(client), "name": "Fred", "role": "front-desk"}
        invited = client.post("/console/users", data=data)
        assert invited.status_code == 200
        link = re.search(
            r'id="enrolment-link">http://[^<]+/console/enrol/([\w-]{43})<', invited.text
        )
        assert link, "no enrolment link"
        assert console.accounts.get("fred").status == "invited"  # type: ignore[union-attr]
        again = client.post("/console/users", data=data)
        assert again.status_code == 409 and 'value="Fred"' in again.text  # typed name kept
        bad = client.post("/console/users", data={**data, "name": "ok", "role": "janitor"})
        assert bad.status_code == 400 and console.accounts.get("ok") is None
        # unlock, change role, disable
        for path, form in (
            ("/console/users/lena/unlock", {}),
            ("/console/users/lena/role", {"role": "quality-reviewer"}),
            ("/console/users/fred/disable", {}),
        ):
            done = client.post(path, data={"csrf": csrf_of(client), **form}, follow_redirects=False)
            assert done.status_code == 303 and done.headers["location"] == "/console/users", path
        missing = client.post("/console/users/nobody/disable", data={"csrf": csrf_of(client)})
        assert missing.status_code == 404
        lena_now = console.accounts.get("lena")
        assert lena_now is not None and lena_now.locked_until is None
        assert lena_now.role.value == "quality-reviewer"
        assert console.accounts.get("fred").status == "disabled"  # type: ignore[union-attr]
        clock.now += 30
        client.cookies.clear()
        enrol_form = client.get(f"/console/enrol/{link.group(1)}")
        assert enrol_form.status_code == 410  # a disabled invitee's link is dead
    log = audit_log(db)
    assert ("olga", "console.user.add", "fred", "ok", "front-desk") in log
    assert ("olga", "console.user.unlock", "lena", "ok", None) in log
    assert (
        "olga",
        "console.user.role",
        "lena",
        "ok",
        "contact-centre-lead>quality-reviewer",
    ) in log
    assert ("olga", "console.user.disable", "fred", "ok", None) in log
    records = db.query(read_records)
    assert link.group(1) not in repr(records)  # the token is never in the log


def test_an_invited_user_enrols_from_the_console_link(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        secret = sign_in_as(client, console, clock, "olga", "owner")
        step_up(client, clock, secret)
        data = {"csrf": csrf_of(client), "name": "cora", "role": "compliance-officer"}
        invited = client.post("/console/users", data=data).text
        token = re.search(r"/console/enrol/([\w-]{43})<", invited).group(1)  # type: ignore[union-attr]
        client.cookies.clear()
        form = client.get(f"/console/enrol/{token}")
        assert form.status_code == 200 and "compliance-officer" in form.text
        totp = re.search(r'id="totp-secret">([A-Z2-7]+)<', form.text).group(1)  # type: ignore[union-attr]
        data = {
            "csrf": hidden(form.text, "csrf"),
            "password": PASSWORD,
            "confirm": PASSWORD,
            "code": pyotp.TOTP(totp).at(clock.now),
        }
        assert 'id="recovery-codes"' in client.post(f"/console/enrol/{token}", data=data).text
    assert console.accounts.get("cora").status == "active"  # type: ignore[union-attr]


def test_the_last_active_owner_stays(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        secret = sign_in_as(client, console, clock, "olga", "owner")
        step_up(client, clock, secret)
        for path, form in (
            ("/console/users/olga/disable", {}),
            ("/console/users/olga/role", {"role": "platform-engineer"}),
        ):
            refused = client.post(path, data={"csrf": csrf_of(client), **form})
            assert refused.status_code == 409 and "last active owner" in refused.text, path
        olga = console.accounts.get("olga")
        assert olga is not None and (olga.status, olga.role.value) == ("active", "owner")
        # a second owner who has not enrolled yet does not count
        data = {"csrf": csrf_of(client), "name": "otto", "role": "owner"}
        assert client.post("/console/users", data=data).status_code == 200
        assert (
            client.post("/console/users/olga/disable", data={"csrf": csrf_of(client)}).status_code
            == 409
        )
    # with a second active owner, olga may step down (and her session ends)
    with TestClient(app) as other:
        sign_in_as(other, console, clock, "omar", "owner")
    with TestClient(app) as client:
        secret = sign_in_as(client, console, clock, "olga2", "owner")
        step_up(client, clock, secret)
        down = client.post(
            "/console/users/olga/role",
            data={"csrf": csrf_of(client), "role": "quality-reviewer"},
            follow_redirects=False,
        )
        assert down.status_code == 303
    assert console.accounts.get("olga").role.value == "quality-reviewer"  # type: ignore[union-attr]
    log = audit_log(db)
    refusals = [a for a in log if a[1] in ("console.user.disable", "console.user.role")]
    assert refusals[:3] == [
        ("olga", "console.user.disable", "olga", "denied", "last-owner"),
        ("olga", "console.user.role", "olga", "denied", "last-owner"),
        ("olga", "console.user.disable", "olga", "denied", "last-owner"),
    ]
    assert ("olga", "console.user.disable", "olga", "ok", None) not in log
    assert ("olga2", "console.user.role", "olga", "ok", "owner>quality-reviewer") in log


def test_the_cli_cannot_disable_the_last_active_owner(console: Console, seeded: Seeded) -> None:
    from appliance.console.accounts import Actor

    cli = Actor("operator", "cli", "cli")
    _active_owner(console)  # an enrolled owner, written straight to the store
    with pytest.raises(ConsoleError) as caught:
        console.accounts.disable("solo", cli)
    assert caught.value.code == "console-last-owner"
    with pytest.raises(ConsoleError):
        console.accounts.set_role("solo", "front-desk", cli)
    console.accounts.set_role("solo", "owner", cli)  # staying an owner is no demotion
    solo = console.accounts.get("solo")
    assert solo is not None and (solo.status, solo.role.value) == ("active", "owner")


def _active_owner(console: Console) -> None:
    console.db.execute(
        lambda c: c.execute(
            "INSERT INTO console_users (name, role, status, totp_secret, created_at)"
            " VALUES ('solo', 'owner', 'active', 'JBSWY3DPEHPK3PXP', 0)"
        )
    )

"""The console's screens over HTTP on the real store (litestar's test client, a virtual
clock): each role allowed or refused on every screen route (table-driven, and the table
must name every route the app serves), the calls list's filters and verdict counts, the
call page without PHI, the audited transcript view, the knowledge base's four-eyes rule,
and the audit log's view and step-up export."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.console.roles import PERMISSIONS, Permission, Role
from appliance.console.routes import PUBLIC
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.db import Connection, Database
from appliance.workflows.kb import KnowledgeBase, Topic
from tests.integration.console_seed import CALLER_WORDS, PACKET_NAME, Seeded, seed_calls
from tests.integration.test_console import PASSWORD, Clock, enrol, hidden, routes

pytestmark = pytest.mark.integration

BASE_KB = KnowledgeBase([Topic("hours", ["hours", "open"], "We are open 8 to 5.")])
P = Permission
# (method, path, permission) of every screen route; {id} is filled in per route
SCREEN_ROUTES: list[tuple[str, str, Permission]] = [
    ("GET", "/console/calls", P.REVIEW_CALLS),
    ("GET", "/console/calls/{call_id:str}", P.REVIEW_CALLS),
    ("GET", "/console/calls/{call_id:str}/transcript", P.READ_TRANSCRIPTS),
    ("GET", "/console/calls/{call_id:str}/audio/{seq:int}", P.READ_TRANSCRIPTS),
    ("POST", "/console/calls/{call_id:str}/correct", P.READ_TRANSCRIPTS),
    ("POST", "/console/calls/{call_id:str}/complaint", P.FLAG_COMPLAINT),
    ("GET", "/console/kb", P.EDIT_KB),
    ("POST", "/console/kb", P.EDIT_KB),
    ("POST", "/console/kb/{version_id:str}/approve", P.EDIT_KB),
    ("POST", "/console/kb/{version_id:str}/reject", P.EDIT_KB),
    ("GET", "/console/audit", P.VIEW_AUDIT),
    ("GET", "/console/audit/export", P.VIEW_AUDIT),
    ("GET", "/console/screenpop", P.SCREEN_POP),
    ("GET", "/console/screenpop/screenpop.js", P.SCREEN_POP),
    ("GET", "/console/screenpop/events", P.SCREEN_POP),  # a stream: test_console_screenpop.py
    ("GET", "/console/users", P.MANAGE_USERS),
    ("POST", "/console/users", P.MANAGE_USERS),
    ("POST", "/console/users/{name:str}/unlock", P.MANAGE_USERS),
    ("POST", "/console/users/{name:str}/disable", P.MANAGE_USERS),
    ("POST", "/console/users/{name:str}/role", P.MANAGE_USERS),
    ("GET", "/console/health", P.SEE_HEALTH),
    ("GET", "/console/reminders", P.SEE_REMINDERS),
    ("GET", "/console/consent", P.EDIT_CONSENT),
    ("POST", "/console/consent", P.EDIT_CONSENT),
    ("POST", "/console/consent/record", P.EDIT_CONSENT),
    ("POST", "/console/consent/revoke", P.EDIT_CONSENT),
    ("POST", "/console/consent/dnc", P.EDIT_CONSENT),
    ("GET", "/console/schedule", P.EDIT_SCHEDULE),
    ("POST", "/console/schedule/provider", P.EDIT_SCHEDULE),
    ("POST", "/console/schedule/type", P.EDIT_SCHEDULE),
    ("POST", "/console/schedule/hours", P.EDIT_SCHEDULE),
    ("POST", "/console/schedule/holiday", P.EDIT_SCHEDULE),
    ("POST", "/console/schedule/hours/{row:str}/remove", P.EDIT_SCHEDULE),
    ("POST", "/console/schedule/holiday/{day:str}/remove", P.EDIT_SCHEDULE),
    ("GET", "/console/use-cases", P.SEE_USE_CASES),
    ("GET", "/console/use-cases/{use_case:str}", P.SEE_USE_CASES),
    ("POST", "/console/use-cases/{use_case:str}/checklist", P.SIGN_OFF),
    ("POST", "/console/use-cases/{use_case:str}/request", P.CHANGE_USE_CASES),
    ("POST", "/console/use-cases/{use_case:str}/approve", P.SIGN_OFF),
    ("POST", "/console/use-cases/{use_case:str}/review", P.SIGN_OFF),
    ("POST", "/console/use-cases/{use_case:str}/stop", P.CHANGE_USE_CASES),
    ("POST", "/console/agent/kill", P.CHANGE_USE_CASES),
]
STREAMS = {"/console/screenpop/events"}  # allowed roles' streams are not opened here
# every signed-in user's routes (part 1)
COMMON = {"/console", "/console/", "/console/logout", "/console/step-up", "/console/api/me"}


class WallClock(Clock):
    """A virtual clock a minute ahead of the wall clock (the seeded calls' audit records
    use the wall clock; the console's use this one: their order is kept)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) + 60)


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    yield db
    db.close()


@pytest.fixture
def seeded(db: Database, clock: WallClock) -> Seeded:
    return seed_calls(db, clock.now - 30)


@pytest.fixture
def console(db: Database, clock: WallClock, seeded: Seeded) -> Console:
    return Console.open(db, clock, kb_base=BASE_KB)


@pytest.fixture
def app(console: Console) -> Litestar:
    return create_app(Health(), Metrics(), console=console)


def sign_in_as(
    client: TestClient[Litestar], console: Console, clock: Clock, name: str, role: str
) -> str:
    """Enrol `name` and sign in; returns the TOTP secret (the client keeps the cookie)."""
    client.cookies.clear()
    secret = enrol(client, console, clock, name, role)
    csrf = hidden(client.get("/console/login").text, "csrf")
    data = {
        "csrf": csrf,
        "name": name,
        "password": PASSWORD,
        "code": pyotp.TOTP(secret).at(clock.now),
    }
    assert client.post("/console/login", data=data, follow_redirects=False).status_code == 303
    clock.now += 30
    return secret


def csrf_of(client: TestClient[Litestar]) -> str:
    return hidden(client.get("/console/").text, "csrf")


def audit_log(db: Database) -> list[tuple[str, str, str | None, str, str | None]]:
    return [
        (r.actor, r.action, r.object_id, r.outcome, r.reason_code) for r in db.query(read_records)
    ]


def test_the_route_table_names_every_screen_route(app: Litestar) -> None:
    served = {(m, p) for m, p, _ in routes(app) if p not in PUBLIC and p not in COMMON}
    assert served == {(m, p) for m, p, _ in SCREEN_ROUTES}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_allowed_or_refused_on_each_screen_route(
    role: Role, app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "user-" + role.value[:10], role.value)
        csrf = csrf_of(client)
        for method, path, permission in SCREEN_ROUTES:
            allowed = permission in PERMISSIONS[role]
            if allowed and path in STREAMS:
                continue
            url = (
                path.replace("{call_id:str}", seeded.escalated)
                .replace("{version_id:str}", "999")
                .replace("{name:str}", "nobody")
                .replace("{seq:int}", "1")
            )
            url = re.sub(r"\{(row|day|use_case):str\}", "none", url)
            response = client.request(
                method,
                url,
                data={"csrf": csrf} if method == "POST" else None,
                follow_redirects=False,
            )
            if not allowed:
                assert response.status_code == 403, (role, method, path)
                assert PACKET_NAME not in response.text and CALLER_WORDS not in response.text
                continue
            expected = {
                ("POST", "/console/kb"): 400,  # an empty proposal
                ("POST", "/console/kb/{version_id:str}/approve"): 404,  # no version 999
                ("POST", "/console/kb/{version_id:str}/reject"): 404,
                ("GET", "/console/audit/export"): 303,  # the step-up page first
                ("POST", "/console/users"): 303,  # user changes: the step-up page first
                ("POST", "/console/users/{name:str}/unlock"): 303,
                ("POST", "/console/users/{name:str}/disable"): 303,
                ("POST", "/console/users/{name:str}/role"): 303,
                ("POST", "/console/schedule/provider"): 400,  # an empty form
                ("POST", "/console/schedule/type"): 400,
                ("POST", "/console/schedule/hours"): 400,
                ("POST", "/console/schedule/holiday"): 400,
                ("POST", "/console/schedule/hours/{row:str}/remove"): 404,
                ("POST", "/console/schedule/holiday/{day:str}/remove"): 404,
                ("GET", "/console/use-cases/{use_case:str}"): 404,  # no use case "none"
                ("POST", "/console/use-cases/{use_case:str}/checklist"): 404,
                ("POST", "/console/use-cases/{use_case:str}/request"): 404,
                ("POST", "/console/use-cases/{use_case:str}/approve"): 404,
                ("POST", "/console/use-cases/{use_case:str}/review"): 404,
                ("POST", "/console/use-cases/{use_case:str}/stop"): 303,  # the step-up page
                ("POST", "/console/agent/kill"): 303,
                ("POST", "/console/consent/record"): 303,  # changes: the step-up page first
                ("POST", "/console/consent/revoke"): 303,
                ("POST", "/console/consent/dnc"): 303,
                ("GET", "/console/calls/{call_id:str}/audio/{seq:int}"): 404,  # none kept
                ("POST", "/console/calls/{call_id:str}/correct"): 303,  # back, with the code
                ("POST", "/console/calls/{call_id:str}/complaint"): 303,  # ... no reason
            }.get((method, path), 200)
            assert response.status_code == expected, (role, method, path)
    reads = [a for a in audit_log(console.db) if a[1] == "phi.read"]
    may_read = P.READ_TRANSCRIPTS in PERMISSIONS[role]
    assert reads == (
        [("user-" + role.value[:10], "phi.read", seeded.escalated, "ok", "transcript")]
        if may_read
        else []
    )


def test_the_calls_list_filters_and_counts_verdicts(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "quinn", "platform-engineer")

        def listed(**query: str) -> list[str]:
            page = client.get("/console/calls", params=query)
            assert page.status_code == 200
            assert CALLER_WORDS not in page.text and PACKET_NAME not in page.text
            return re.findall(r'href="/console/calls/([^"/]+)"', page.text)

        everything = listed()
        assert everything == [seeded.open_call, seeded.escalated, seeded.booked]  # newest first
        assert listed(outcome="transferred") == [seeded.escalated]
        assert listed(outcome="in-progress") == [seeded.open_call]
        assert listed(reason="caller-asked-human") == [seeded.escalated]
        assert listed(since=seeded.booked_day, until=seeded.booked_day) == [seeded.booked]
        assert listed(since=seeded.escalated_day) == [seeded.open_call, seeded.escalated]
        assert listed(since="not-a-day") == everything  # a malformed filter is ignored
        page = client.get("/console/calls").text
        row = page[page.index(f'href="/console/calls/{seeded.booked}"') :].split("</tr>")[0]
        counts = dict(re.findall(r'class="verdict verdict-[a-z]+">([a-z/]+) (\d+)<', row))
        assert counts and sum(int(n) for n in counts.values()) >= 3  # one per evaluator
        some = next(iter(counts))
        assert seeded.booked in listed(verdict=some) and seeded.open_call not in listed(
            verdict=some
        )


def test_the_call_page_shows_metadata_and_no_phi(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "pat", "platform-engineer")
        page = client.get(f"/console/calls/{seeded.escalated}")
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        text = page.text
        assert "caller-asked-human" in text and "transferred" in text
        assert 'id="timings"' in text and '<th scope="col">llm (s)</th>' in text and "0.430" in text
        assert 'id="events"' in text and "barge-in" in text
        assert 'id="scores"' in text
        assert CALLER_WORDS not in text and PACKET_NAME not in text
        assert "show-transcript" not in text  # the role may not read transcripts
        assert client.get(f"/console/calls/{seeded.escalated}/transcript").status_code == 403
        assert client.get("/console/calls/no-such-call").status_code == 404
    assert not [a for a in audit_log(console.db) if a[1] == "phi.read"]


def test_a_transcript_view_is_audited_under_the_user_name(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "rita", "quality-reviewer")
        call_page = client.get(f"/console/calls/{seeded.escalated}").text
        assert 'id="show-transcript"' in call_page and CALLER_WORDS not in call_page
        assert not [a for a in audit_log(console.db) if a[1] == "phi.read"]  # not yet
        page = client.get(f"/console/calls/{seeded.escalated}/transcript")
        assert page.status_code == 200
        assert CALLER_WORDS in page.text and PACKET_NAME in page.text
        assert "1961-04-02" in page.text
        assert client.get("/console/calls/no-such-call/transcript").status_code == 404
    log = audit_log(console.db)
    reads = [a for a in log if a[1] == "phi.read"]
    assert reads == [("rita", "phi.read", seeded.escalated, "ok", "transcript")]
    records = console.db.query(read_records)
    read = next(r for r in records if r.action == "phi.read")
    assert read.actor_role == "quality-reviewer" and read.call_id == seeded.escalated
    assert read.component == "console"
    dumped = repr(records)
    assert CALLER_WORDS not in dumped and PACKET_NAME not in dumped and "Zelda" not in dumped


def test_a_kb_change_needs_a_second_person(
    app: Litestar, console: Console, clock: WallClock, db: Database
) -> None:
    from appliance.workflows.kb_versions import approved_topics, with_approved

    def callers_hear() -> str:
        return (
            with_approved(BASE_KB, db.query(approved_topics)).answer("are you open", "hours") or ""
        )

    new = "We are open 7 to 7 on weekdays."
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "lena", "contact-centre-lead")
        form = client.get("/console/kb?topic=hours").text
        assert 'value="hours"' in form and "We are open 8 to 5." in form
        bad = {"csrf": csrf_of(client), "topic": "Bad Topic!", "keywords": "x", "answer": new}
        refused = client.post("/console/kb", data=bad)
        assert refused.status_code == 400 and new in refused.text  # what was typed stays
        assert 'role="alert"' in refused.text and not console.kb.versions()
        data = {"csrf": csrf_of(client), "topic": "hours", "keywords": "hours, open", "answer": new}
        assert client.post("/console/kb", data=data, follow_redirects=False).status_code == 303
        version = console.kb.versions()[0]
        assert version.status == "pending" and version.proposed_by == "lena"
        assert callers_hear() == "We are open 8 to 5."  # pending: not live
        own = client.post(f"/console/kb/{version.id}/approve", data={"csrf": csrf_of(client)})
        assert own.status_code == 403 and "second person" in own.text
        assert console.kb.versions()[0].status == "pending" and callers_hear() != new
        forged = {**data, "csrf": "forged"}
        assert client.post(f"/console/kb/{version.id}/approve", data=forged).status_code == 403
        withdrawn = {**data, "answer": "Open 24 hours."}
        client.post("/console/kb", data=withdrawn)
        mine = console.kb.versions()[0]
        client.post(f"/console/kb/{mine.id}/reject", data={"csrf": csrf_of(client)})
        assert console.kb.versions()[0].status == "rejected"  # a proposer may withdraw
        sign_in_as(client, console, clock, "olga", "owner")
        kb_page = client.get("/console/kb").text
        assert f'action="/console/kb/{version.id}/approve"' in kb_page
        done = client.post(
            f"/console/kb/{version.id}/approve",
            data={"csrf": csrf_of(client)},
            follow_redirects=False,
        )
        assert done.status_code == 303
        again = client.post(f"/console/kb/{version.id}/reject", data={"csrf": csrf_of(client)})
        assert again.status_code == 409  # decided once
    assert callers_hear() == new
    approved = next(v for v in console.kb.versions() if v.id == version.id)
    assert (approved.status, approved.decided_by) == ("approved", "olga")
    log = audit_log(db)
    assert ("lena", "kb.propose", "hours@1", "ok", None) in log
    assert ("lena", "kb.approve", "hours@1", "denied", "own-change") in log
    assert ("olga", "kb.approve", "hours@1", "ok", None) in log
    assert ("lena", "kb.reject", "hours@2", "ok", None) in log
    assert new not in repr(db.query(read_records))  # the log names the version, not the text


def run_sql(conn: Connection, sql: str, version_id: int) -> None:
    conn.execute(sql, (version_id,))


def test_the_store_itself_refuses_a_self_approval_and_any_rewrite(
    db: Database, console: Console
) -> None:
    from appliance.console.accounts import Actor
    from appliance.errors import StoreError

    lead = Actor("lena", "contact-centre-lead")
    v = console.kb.propose("parking", "park, parking", "Park behind the building.", lead)
    with pytest.raises(StoreError):
        db.execute(
            lambda c: c.execute(
                "UPDATE kb_versions SET status = 'approved', decided_by = 'lena', decided_at = 1"
                " WHERE id = ?",
                (v.id,),
            )
        )
    console.kb.decide(v.id, True, Actor("olga", "owner"))
    for sql in (
        "UPDATE kb_versions SET answer = 'changed' WHERE id = ?",
        "UPDATE kb_versions SET status = 'rejected' WHERE id = ?",
        "DELETE FROM kb_versions WHERE id = ?",
    ):
        with pytest.raises(StoreError):
            db.execute(run_sql, sql, v.id)
    assert [t.id for t in console.kb.live().topic] == ["hours", "parking"]  # added after


def test_the_audit_log_view_and_its_step_up_export(
    app: Litestar, console: Console, clock: WallClock, db: Database
) -> None:
    with TestClient(app) as client:
        secret = sign_in_as(client, console, clock, "cora", "compliance-officer")
        page = client.get("/console/audit", params={"action": "console."})
        assert page.status_code == 200 and "console.signin" in page.text
        assert "call.start" not in page.text  # filtered by the action's start
        assert "call.start" in client.get("/console/audit", params={"action": "call"}).text
        assert "console.signin" not in client.get("/console/audit", params={"user": "agent"}).text
        asked = client.get("/console/audit/export", follow_redirects=False)
        assert asked.headers["location"] == "/console/step-up?next=/console/audit/export"
        form = client.get(asked.headers["location"]).text
        data = {
            "csrf": hidden(form, "csrf"),
            "next": hidden(form, "next"),
            "code": pyotp.TOTP(secret).at(clock.now),
        }
        done = client.post("/console/step-up", data=data, follow_redirects=False)
        assert done.headers["location"] == "/console/audit/export"
        export = client.get("/console/audit/export")
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [r["seq"] for r in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["action"] == "audit.export" and lines[-1]["actor"] == "cora"
    assert ("cora", "audit.export") in [(a[0], a[1]) for a in audit_log(db)]
    assert CALLER_WORDS not in export.text and PACKET_NAME not in export.text


def test_an_unauthenticated_request_gets_nothing(app: Litestar, seeded: Seeded) -> None:
    with TestClient(app) as client:
        for method, path, _ in SCREEN_ROUTES:
            url = path.replace("{call_id:str}", seeded.escalated).replace("{version_id:str}", "1")
            url = re.sub(r"\{(name|row|day):str\}", "none", url).replace("{seq:int}", "1")
            response: httpx.Response = client.request(method, url, follow_redirects=False)
            if path in STREAMS:  # an API route: no redirect
                assert response.status_code == 401, path
                continue
            assert response.status_code == 303 and response.headers["location"] == "/console/login"

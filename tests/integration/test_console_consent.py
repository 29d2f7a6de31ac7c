"""The consent screen over HTTP on the real store (litestar's test client, a virtual
clock): a patient looked up by id shows their consents with numbers masked; recording,
revoking and listing a number as do-not-call need CSRF and a fresh authenticator code,
go through the ledger audited under the console user's name, and the planner then
excludes the number; bad input is refused with a code and nothing written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.outbound.planner import Limits, Planner
from appliance.store.db import Connection, Database
from tests.integration.outbound_support import (
    KEY,
    NY,
    audit_rows,
    book,
    consent,
    ledger,
    open_store,
)
from tests.integration.test_console import Clock, hidden
from tests.integration.test_console_screens import sign_in_as

pytestmark = pytest.mark.integration

WEDNESDAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=NY)
P4_NUMBER = "+12125550144"  # p4 (Ana Ruiz), on record and consented
P5_NUMBER = "+13105550155"  # p5 (Ben Cole)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "consent.db")
    book(store, "a4", "p4", datetime.combine(WEDNESDAY, time(15), NY))
    book(store, "a5", "p5", datetime.combine(WEDNESDAY, time(16), NY))
    consent(ledger(store), "p4", P4_NUMBER, datetime(2026, 10, 1, tzinfo=NY))
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.now = NOW.timestamp()
    return clock


@pytest.fixture
def console(db: Database, clock: Clock) -> Console:
    return Console.open(db, clock, consent_key=KEY)


def plan(db: Database) -> dict[str, tuple[str, str | None]]:
    planner = Planner(db, KEY, (NY, time(8), time(21)), Limits(3, 3))
    return {d.appointment_id: (d.action, d.reason) for d in planner.plan(WEDNESDAY, NOW)}


def step_up(client: TestClient[Litestar], secret: str, clock: Clock) -> None:
    form = client.get("/console/step-up", params={"next": "/console/consent"}).text
    data = {"csrf": hidden(form, "csrf"), "next": "/console/consent"}
    data["code"] = pyotp.TOTP(secret).at(clock.now + 30)  # the next window's code
    clock.now += 30
    assert client.post("/console/step-up", data=data, follow_redirects=False).status_code == 303


def written(db: Database) -> tuple[int, int, int]:
    def count(conn: Connection) -> tuple[int, int, int]:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM outbound_consents),"
            " (SELECT count(*) FROM outbound_consents WHERE revoked_at IS NOT NULL),"
            " (SELECT count(*) FROM outbound_dnc)"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    return db.query(count)


def test_lookup_shows_masked_consents_and_nothing_of_the_patient(
    console: Console, clock: Clock
) -> None:
    with TestClient(create_app(Health(), Metrics(), console=console)) as client:
        sign_in_as(client, console, clock, "lena", "contact-centre-lead")
        csrf = hidden(client.get("/console/consent").text, "csrf")
        page = client.post("/console/consent", data={"csrf": csrf, "patient": "p4"})
        assert page.status_code == 200
        row = re.search(r'<tr id="consent-\d+">(.*?)</tr>', page.text, re.S)
        assert row and "…0144" in row.group(1) and "written" in row.group(1)
        assert "in force" in row.group(1) and "<td>no</td>" in row.group(1)
        assert P4_NUMBER[2:] not in page.text and "Ana" not in page.text
        assert "Ruiz" not in page.text
        unknown = client.post("/console/consent", data={"csrf": csrf, "patient": "p99"})
        assert unknown.status_code == 404 and "[consent-unknown-patient]" in unknown.text
        assert client.post("/console/consent", data={"patient": "p4"}).status_code == 403
        sign_in_as(client, console, clock, "fran", "front-desk")
        assert client.get("/console/consent").status_code == 403


def test_changes_need_step_up_are_audited_by_name_and_the_planner_follows(
    console: Console, clock: Clock, db: Database
) -> None:
    assert plan(db) == {"a4": ("call-now", None), "a5": ("excluded", "no-consent")}
    with TestClient(create_app(Health(), Metrics(), console=console)) as client:
        secret = sign_in_as(client, console, clock, "olga", "owner")
        csrf = hidden(client.get("/console/consent").text, "csrf")
        record = {"csrf": csrf, "patient": "p5", "number": "(310) 555-0155", "kind": "written"}
        clock.now += 310  # the sign-in's code is no longer fresh (5 min)
        asked = client.post("/console/consent/record", data=record, follow_redirects=False)
        assert asked.status_code == 303
        assert asked.headers["location"] == "/console/step-up?next=/console/consent"
        assert written(db) == (1, 0, 0)  # nothing before the step-up
        step_up(client, secret, clock)
        done = client.post("/console/consent/record", data=record)
        assert done.status_code == 200 and 'id="done"' in done.text and "…0155" in done.text
        assert plan(db)["a5"] == ("call-now", None)
        page = client.post("/console/consent", data={"csrf": csrf, "patient": "p4"}).text
        consent_id = re.findall(r'name="consent" value="(\d+)"', page)
        assert len(consent_id) == 1
        revoke = {"csrf": csrf, "patient": "p4", "consent": consent_id[0]}
        revoked = client.post("/console/consent/revoke", data=revoke)
        assert revoked.status_code == 200 and "(console)" in revoked.text
        assert plan(db)["a4"] == ("excluded", "consent-revoked")
        dnc = {"csrf": csrf, "patient": "p5", "number": P5_NUMBER}
        listed = client.post("/console/consent/dnc", data=dnc)
        assert listed.status_code == 200 and "<td>on DNC</td>" in listed.text
        assert plan(db)["a5"] == ("excluded", "dnc")
    changes = [(r[0], r[3], r[4]) for r in audit_rows(db)]
    assert changes[-3:] == [
        ("consent.granted", "written", "olga"),
        ("consent.revoked", "console", "olga"),
        ("dnc.added", "internal", "olga"),
    ]
    assert written(db) == (2, 1, 1)


@pytest.mark.parametrize(
    ("path", "form", "code"),
    [
        ("record", {"patient": "p99", "number": P5_NUMBER, "kind": "written"}, "unknown-patient"),
        ("record", {"patient": "p5", "number": "12345", "kind": "written"}, "bad-number"),
        ("record", {"patient": "p5", "number": P5_NUMBER, "kind": "verbal"}, "bad-type"),
        ("record", {"patient": "p 5;", "number": P5_NUMBER, "kind": "written"}, "bad-patient"),
        ("revoke", {"patient": "p5", "consent": "1"}, "no-consent"),  # p4's consent
        ("revoke", {"patient": "p99", "consent": "1"}, "unknown-patient"),
        ("dnc", {"patient": "p5", "number": "call me"}, "bad-number"),
    ],
)
def test_bad_input_is_refused_by_code_and_nothing_is_written(
    console: Console, clock: Clock, db: Database, path: str, form: dict[str, str], code: str
) -> None:
    before, audited = written(db), len(audit_rows(db))
    with TestClient(create_app(Health(), Metrics(), console=console)) as client:
        step_up(client, sign_in_as(client, console, clock, "lena", "contact-centre-lead"), clock)
        csrf = hidden(client.get("/console/consent").text, "csrf")
        refused = client.post(f"/console/consent/{path}", data={"csrf": csrf, **form})
        assert refused.status_code in (400, 404)
        assert f"[consent-{code}]" in refused.text and "Nothing was changed" in refused.text
        assert client.post(f"/console/consent/{path}", data=form).status_code == 403  # no CSRF
    assert written(db) == before
    later = [r[0] for r in audit_rows(db)[audited:]]
    assert later and not any(a.startswith(("consent.", "dnc.")) for a in later)


def test_without_outbound_the_screen_says_so(db: Database, clock: Clock) -> None:
    console = Console.open(db, clock)
    with TestClient(create_app(Health(), Metrics(), console=console)) as client:
        sign_in_as(client, console, clock, "olga", "owner")
        assert 'id="consent-off"' in client.get("/console/consent").text

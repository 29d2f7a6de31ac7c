"""The reminders screen over HTTP on the real store (litestar's test client, a virtual
clock): a date's results as `reminders report` counts them, its plan as the planner
decides it (appointment ids and reason codes), nothing of the patients; today by
default; the lead sees it, the front desk does not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.console.reminders import Reminders
from appliance.console.service import Console
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.outbound.planner import Decision, Limits, Planner
from appliance.store.db import Database
from tests.integration.outbound_support import (
    KEY,
    NY,
    PATIENTS,
    attempt,
    book,
    consent,
    ledger,
    open_store,
)
from tests.integration.test_console import Clock
from tests.integration.test_console_screens import sign_in_as

pytestmark = pytest.mark.integration

WEDNESDAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=NY)  # the day before, noon


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "reminders.db")
    booked = (("a4", "p4", 15), ("a5", "p5", 16), ("a1", "p1", 11), ("a6", "p6", 10))
    for appointment, patient, hour in booked:
        book(store, appointment, patient, datetime.combine(WEDNESDAY, time(hour), NY))
    for patient in ("p4", "p5"):  # a1 (p1): no consent; a6 (p6): no number
        consent(ledger(store), patient, PATIENTS[patient][2], datetime(2026, 10, 1, tzinfo=NY))
    book_ = ledger(store).for_call("c1")
    attempt(book_, "a4", PATIENTS["p4"][2], NOW.timestamp() - 3600, "answered")
    assert book_.confirm("a4", NOW.timestamp() - 3500)
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.now = NOW.timestamp()
    return clock


def console_with(db: Database, clock: Clock) -> Console:
    planner = Planner(db, KEY, (NY, time(8), time(21)), Limits(3, 3))
    return Console.open(db, clock, reminders=Reminders(db, planner, NY))


def console_plan(console: Console) -> list[Decision]:
    assert console.reminders is not None
    return console.reminders.planner.plan(WEDNESDAY, NOW)


def cell(html: str, cell_id: str) -> str:
    found = re.search(rf'id="{cell_id}">([^<]*)<', html)
    assert found, f"no cell {cell_id}"
    return found.group(1)


def test_a_dates_results_and_plan_without_patients(db: Database, clock: Clock) -> None:
    console = console_with(db, clock)
    app: Litestar = create_app(Health(), Metrics(), console=console)
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "lena", "contact-centre-lead")
        page = client.get("/console/reminders", params={"day": "2026-11-25"})
        assert page.status_code == 200
        html = page.text
        counts = {c: cell(html, c) for c in ("appointments", "dialled", "confirmed", "cancelled")}
        assert counts == {"appointments": "4", "dialled": "1", "confirmed": "1", "cancelled": "0"}
        assert cell(html, "attempts-answered") == "1"
        assert cell(html, "not-dialled-no-consent") == "1"
        assert cell(html, "not-dialled-no-number") == "1"
        rows = dict(re.findall(r'<tr id="plan-(a\d)"><td>a\d</td><td>([^<]*)</td>', html))
        assert rows == {"a4": "excluded", "a5": "call-now", "a1": "excluded", "a6": "excluded"}
        assert re.search(r'id="plan-a4">.*?<td>reminded</td>', html)  # answered already
        assert re.search(r'id="plan-a1">.*?<td>no-consent</td>', html)
        assert re.search(r'id="plan-a6">.*?<td>no-number</td>', html)
        assert re.search(
            r'id="plan-a5">.*?<td>2026-11-24 12:0\d</td>', html
        )  # now (the sign-in took a minute)
        for first, last, phone in (*PATIENTS.values(), ("Maria", "Gonzalez", "+15550100001")):
            assert first not in html and last not in html
            assert not phone or phone[2:] not in html
        keys = {k for d in console_plan(console) for k in (d.patient, d.number) if k}
        assert keys and not any(k in html for k in keys)  # not even the pseudonyms
        today = client.get("/console/reminders").text  # the clinic's today: Tuesday
        assert 'value="2026-11-24"' in today and 'id="no-plan"' in today
        bad = client.get("/console/reminders", params={"day": "next tuesday"}).text
        assert 'id="bad-day"' in bad and 'value="2026-11-24"' in bad
        sign_in_as(client, console, clock, "fran", "front-desk")
        assert client.get("/console/reminders").status_code == 403


def test_without_outbound_the_screen_says_so(db: Database, clock: Clock) -> None:
    console = Console.open(db, clock)
    with TestClient(create_app(Health(), Metrics(), console=console)) as client:
        sign_in_as(client, console, clock, "olga", "owner")
        page = client.get("/console/reminders")
        assert page.status_code == 200 and 'id="reminders-off"' in page.text

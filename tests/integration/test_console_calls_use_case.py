"""The calls list's use case filter on the real store (litestar's test client): a table of
calls with different intent events, each filter value against the calls the phase gates
attribute to that use case (governance.gate_metrics.intents_of), combined with the other
filters; an unknown use case matches no call."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.console.service import Console
from appliance.domain import EventKind
from appliance.governance.use_cases import ensure_built_in
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.integration.test_console_screens import WallClock, sign_in_as

pytestmark = pytest.mark.integration

# call id -> its events (kind, code), oldest call first
CALLS: dict[str, list[tuple[str, str | None]]] = {
    "call-book": [(EventKind.INTENT.value, "book"), ("workflow-book", None)],
    "call-info": [(EventKind.INTENT.value, "clinic_info"), ("replied", None)],
    "call-bill": [(EventKind.INTENT.value, "billing")],
    # the booking turn was turned away (its use case not live): not a scheduling call
    "call-away": [(EventKind.INTENT.value, "book"), ("transfer-requested", "use-case-disabled")],
    # info first, then a reschedule: both use cases
    "call-both": [(EventKind.INTENT.value, "clinic_info"), (EventKind.INTENT.value, "reschedule")],
    # recorded before intent events: attributed by its workflow actions
    "call-old": [("workflow-cancel", None)],
    "call-none": [("barge-in", None)],
}
NEWEST_FIRST = list(reversed(CALLS))
# (query, the calls listed, newest first)
CASES: list[tuple[dict[str, str], list[str]]] = [
    ({}, NEWEST_FIRST),
    ({"use_case": "scheduling"}, ["call-old", "call-both", "call-book"]),
    ({"use_case": "clinic-information"}, ["call-both", "call-info"]),
    ({"use_case": "billing"}, ["call-bill"]),
    ({"use_case": "scheduling", "outcome": "in-progress"}, ["call-old"]),
    ({"use_case": "scheduling", "outcome": "completed"}, ["call-both", "call-book"]),
    ({"use_case": "no-such-case"}, []),
]


async def _seed(db: Database, base: float) -> None:
    repo = CallRepository(db)
    for n, (call_id, events) in enumerate(CALLS.items()):
        at = base + n * 60
        await repo.start_call(call_id, at, "PCMU", "hash-" + call_id)
        for i, (kind, code) in enumerate(events):
            await repo.add_event(call_id, kind, "workflow", code, at + 1 + i)
        if call_id != "call-old":
            await repo.end_call(call_id, at + 30, "completed")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Console, WallClock]]:  # type: ignore[type-arg]
    db = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    clock = WallClock()
    ensure_built_in(db, demo=False)  # as the appliance does on start
    asyncio.run(_seed(db, clock.now - 3600))
    clock.now += 60  # after the seeded calls' audit records
    console = Console.open(db, clock)
    try:
        with TestClient(create_app(Health(), Metrics(), console=console)) as client:
            sign_in_as(client, console, clock, "quinn", "quality-reviewer")
            yield client, console, clock
    finally:
        db.close()


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_the_use_case_filter_lists_the_calls_the_gates_attribute(
    served: tuple[TestClient, Console, WallClock],  # type: ignore[type-arg]
    query: dict[str, str],
    expected: list[str],
) -> None:
    client = served[0]
    page = client.get("/console/calls", params=query)
    assert page.status_code == 200
    assert re.findall(r'href="/console/calls/([^"/]+)"', page.text) == expected
    offered = re.findall(r'<option value="([a-z-]+)"', page.text.split('id="use_case"')[1])
    assert {"scheduling", "clinic-information", "billing"} <= set(offered)
    if query.get("use_case") in offered:
        assert f'<option value="{query["use_case"]}" selected>' in page.text


def test_an_htmx_request_gets_the_table_only_and_htmx_is_shipped(
    served: tuple[TestClient, Console, WallClock],  # type: ignore[type-arg]
) -> None:
    client = served[0]
    query = {"use_case": "billing"}
    fragment = client.get("/console/calls", params=query, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<table id="calls"')
    assert "<html" not in fragment.text and 'id="filters"' not in fragment.text
    assert re.findall(r'href="/console/calls/([^"/]+)"', fragment.text) == ["call-bill"]
    whole = client.get("/console/calls", params=query)  # no script: the whole page
    assert "<html" in whole.text and 'hx-target="#calls-results"' in whole.text
    assert '<script src="/console/static/htmx.min.js"></script>' in whole.text
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", whole.text)
    assert config and '"includeIndicatorStyles": false' in config.group(1)
    assert '"allowEval": false' in config.group(1)
    script = client.get("/console/static/htmx.min.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert script.headers["content-security-policy"].startswith("default-src 'self'")
    assert 'version:"2.0.11"' in script.text.replace(" ", "")

"""The call page's trace waterfall (spans written by the store's own SpanStore, drawn as
server-side SVG bars: no script, no inline style under the strict CSP) and the health
screen (the admin's health entries, as /healthz answers them), on the real store."""

from __future__ import annotations

import asyncio
import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.admin.app import create_app
from appliance.console.service import Console
from appliance.console.waterfall import bars
from appliance.observability.call_trace import SpanRow
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.store.db import Database
from appliance.store.spans import SpanStore
from tests.integration import test_console_screens as screens
from tests.integration.console_seed import CALLER_WORDS, PACKET_NAME, Seeded
from tests.integration.test_console_screens import WallClock, sign_in_as

pytestmark = pytest.mark.integration
db, clock, seeded, console = screens.db, screens.clock, screens.seeded, screens.console
T0 = 1_700_000_000_000_000_000  # ns
MS = 1_000_000


def span(
    sid: str, parent: str | None, name: str, start_ms: int, end_ms: int, **attrs: str | float | bool
) -> SpanRow:
    return SpanRow(
        "t" * 32, sid, parent, name, T0 + start_ms * MS, T0 + end_ms * MS, "UNSET", dict(attrs)
    )


SPANS = [
    span(
        "c",
        None,
        "call",
        0,
        2000,
        **{"appliance.call.outcome": "transferred", "caller.name": PACKET_NAME},
    ),
    span("t1", "c", "turn", 100, 1100, **{"voice.turn_gap_s": 0.4}),
    span("s1", "t1", "stt", 100, 300, **{"appliance.stt.early": True}),
    span("l1", "t1", "chat", 300, 900, **{"gen_ai.operation.name": "chat"}),
    span("x", "c", "transfer", 1500, 2000, **{"appliance.transfer.reason": "caller-asked-human"}),
]


def test_bars_keep_the_tree_order_and_scale_to_the_trace() -> None:
    drawn = bars(list(reversed(SPANS)))
    assert [(b.name, b.depth) for b in drawn] == [
        ("call", 0), ("turn", 1), ("stt", 2), ("chat", 2), ("transfer", 1),
    ]  # fmt: skip
    chat = drawn[3]
    assert (chat.start_ms, chat.took_ms, chat.left_pct, chat.width_pct) == (300, 600, 15.0, 30.0)
    assert drawn[0].width_pct == 100.0 and drawn[4].left_pct == 75.0
    assert ("gen_ai.operation.name", "chat") in chat.attributes
    assert all(k != "caller.name" for k, _ in drawn[0].attributes)  # known keys only
    instant = bars([span("i", None, "instant", 0, 0)])[0]
    assert instant.width_pct > 0  # still visible
    assert bars([]) == []


@pytest.fixture
def app(console: Console) -> Litestar:
    health = Health()
    health.set("sip", True, "listening on 127.0.0.1:5060")
    health.set("llm", False, "model not loaded")
    return create_app(health, Metrics(), console=console)


def test_the_call_page_draws_the_trace(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    asyncio.run(SpanStore(db).add(seeded.escalated, SPANS))
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "pat", "platform-engineer")
        text = client.get(f"/console/calls/{seeded.escalated}").text
        assert 'id="trace"' in text and "style=" not in text and "<script" not in text
        rows = re.findall(r'<rect x="([\d.]+)" y="0" width="([\d.]+)"', text)
        assert rows == [
            ("0.0", "100.0"),
            ("5.0", "50.0"),
            ("5.0", "10.0"),
            ("15.0", "30.0"),
            ("75.0", "25.0"),
        ]
        assert "appliance.transfer.reason=caller-asked-human" in text and "· · chat" in text
        assert "voice.turn_gap_s=0.4" in text and "appliance.stt.early=True" in text
        assert CALLER_WORDS not in text and PACKET_NAME not in text  # unknown keys not kept
        other = client.get(f"/console/calls/{seeded.booked}").text
        assert 'id="no-trace"' in other and 'id="trace"' not in other


def test_the_health_screen_lists_the_components(
    app: Litestar, console: Console, clock: WallClock, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "pat", "platform-engineer")
        page = client.get("/console/health")
        assert page.status_code == 200
        text = page.text
        llm = text[text.index('id="component-llm"') :].split("</tr>")[0]
        sip = text[text.index('id="component-sip"') :].split("</tr>")[0]
        assert "failing" in llm and "model not loaded" in llm
        assert ">ok<" in sip and "listening on 127.0.0.1:5060" in sip
        assert "degraded" in text  # as /healthz says
        assert client.get("/healthz").status_code == 503
        assert re.search(r'id="in-progress">Calls in progress: <strong>1<', text)  # the open call
        llm_row = text[text.index('id="latency-llm"') :].split("</tr>")[0]
        # only the open call started within 24 h (the others are older): one agent turn
        assert llm_row.count("<td>0.430</td>") == 3 and "<td>1</td>" in llm_row
        assert 'id="latency-stt"' in text and 'id="latency-tts"' in text
        assert CALLER_WORDS not in text and PACKET_NAME not in text
        home = client.get("/console/").text
        assert 'href="/console/health"' in home and 'href="/console/users"' not in home

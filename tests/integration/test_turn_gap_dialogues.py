"""bench/turn_gap.py's clinic dialogues reach their outcomes through the clinic agent on
the demo clinic, in text, whatever the weekday the bench runs on (the appliance seeds the
demo clinic at today's date): booked, answered from the KB, cancelled, transferred. A
failure here means the bench would measure a dialogue that goes astray."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench.turn_gap_dialogues import KINDS, dialogue
from tests.dialogue_runner import TZ, DialogueRun

pytestmark = pytest.mark.integration

EXPECTED = {"booking": "booked", "faq": "answered", "cancel": "cancelled", "person": "transferred"}
MONDAY_EVENING = datetime(2026, 12, 7, 21, 40, tzinfo=TZ)


@pytest.mark.parametrize("day", range(7))
async def test_booking_finds_slots_and_books_on_any_weekday(tmp_path: Path, day: int) -> None:
    now = MONDAY_EVENING + timedelta(days=day)
    booking = dialogue(0)
    out = await DialogueRun(tmp_path / "d.db", now, None, "never").run(list(booking.lines))
    assert (out.outcome, out.patient) == ("booked", booking.patient_id), out.replies


@pytest.mark.parametrize("call", range(4 * len(KINDS)))
async def test_each_dialogue_reaches_its_outcome(tmp_path: Path, call: int) -> None:
    d = dialogue(call)
    now = MONDAY_EVENING + timedelta(days=call % 7)
    out = await DialogueRun(tmp_path / "d.db", now, None, "never").run(list(d.lines))
    assert out.outcome == EXPECTED[d.kind], out.replies
    if d.kind == "cancel":
        assert out.patient == d.patient_id
    if d.kind == "faq":
        assert not out.identity_asked and len(out.replies) == 2
    if d.kind == "person":
        assert out.reason == "caller-request"

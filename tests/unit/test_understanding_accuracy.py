"""The understander on the labelled caller lines, as the default config runs it (the rules
and parsers alone): intent accuracy and slot exact match per file.

The tuning files (tune, dev, dev2 ... dev19) are what the rules were written from; the
held-out file is never read while tuning. Its floors are 0.96 / 0.90, the level measured
when they were set (intent 0.965 = 110 of 114, slots 0.902 = 55 of 61, on 2026-12-06 at
22:48 UTC): intent above the issue's 0.95, slots at its 0.90 (bench/README.md,
"Understanding"). A miss on the held-out lines is reported as a count only, never as
text."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.workflows.understander import Understander
from tests.understanding_eval import demo_vocabulary, produced_slots

pytestmark = pytest.mark.unit

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "understanding"
BAR = {  # (intent accuracy, slot exact match) at least: the levels of 2026-12-06, 22:35 UTC
    "lines_tune.toml": (0.99, 0.99),
    "lines_dev.toml": (0.99, 0.99),
    "lines_dev2.toml": (0.98, 0.97),
    "lines_dev3.toml": (0.99, 0.92),  # "this thursday or next thursday": a question (dev14)
    "lines_dev4.toml": (0.99, 0.97),
    "lines_dev5.toml": (0.99, 0.96),
    "lines_dev6.toml": (0.98, 0.95),
    "lines_dev7.toml": (0.98, 0.93),
    "lines_dev8.toml": (0.99, 0.93),
    "lines_dev9.toml": (0.97, 0.98),
    "lines_dev10.toml": (0.96, 0.93),
    "lines_dev11.toml": (0.96, 0.97),
    "lines_dev12.toml": (0.98, 0.96),
    "lines_dev13.toml": (0.95, 0.86),
    "lines_dev14.toml": (0.95, 0.93),
    "lines_dev15.toml": (0.94, 0.94),
    "lines_dev16.toml": (0.98, 0.97),
    "lines_dev17.toml": (0.93, 0.95),
    "lines_dev18.toml": (0.92, 0.90),
    "lines_dev19.toml": (0.92, 0.91),
    "lines_heldout.toml": (0.96, 0.90),
}


@pytest.mark.parametrize("name", sorted(BAR))
async def test_intent_accuracy_and_slot_exact_match(name: str) -> None:
    data = tomllib.loads((ASSETS / name).read_text("utf-8"))
    now = datetime.fromisoformat(data["reference_now"]).replace(tzinfo=ZoneInfo("America/New_York"))
    understander = Understander(None, "never")
    understander.vocabulary = demo_vocabulary()
    right, slot_lines, slot_right, misses = 0, 0, 0, []
    for line in data["line"]:
        got = await understander.understand(line["text"], now)
        expected = {k: str(v) for k, v in line.get("slots", {}).items()}
        produced = produced_slots(got, line["text"])
        right += got.intent.value == line["intent"]
        if expected or produced:
            slot_lines += 1
            slot_right += expected == produced
        if got.intent.value != line["intent"] or expected != produced:
            misses.append(f"{line['text']!r}: {got.intent.value} {produced}")
    intent_bar, slot_bar = BAR[name]
    accuracy, exact = right / len(data["line"]), slot_right / max(1, slot_lines)
    # held-out misses are not shown: nobody tunes on them
    shown = f"{len(misses)} misses" if name == "lines_heldout.toml" else "\n".join(misses[:40])
    assert accuracy >= intent_bar and exact >= slot_bar, (
        f"intent {accuracy:.3f}, slots {exact:.3f} ({slot_lines} lines)\n{shown}"
    )

"""bench/turn_gap.py's reading of the store: each caller turn gets its reply's timings and
the fillers that began before the next caller turn (the store's filler events), and the
fillers summary reports the max per turn and the share of turns with more than one. The
clinic dialogues cycle through the kinds, each cancel naming a different demo patient
with a seeded appointment."""

from __future__ import annotations

import csv

import pytest

from appliance.demo.config import CLINIC_DIR
from appliance.store.calls import CallRepository
from bench.turn_gap_dialogues import BOOKING_PATIENT, KINDS, dialogue
from bench.turn_gap_results import fillers
from bench.turn_gap_store import reply_rows

pytestmark = pytest.mark.unit

T0 = 1_800_000_000.0


async def test_fillers_and_timings_go_to_the_caller_turn_they_followed(
    repo: CallRepository,
) -> None:
    await repo.start_call("c1", T0, "PCMU", "x")
    reply = {"stt_done": 0.7, "reply_audio_out": 2.9, "first_audio_out": 1.2, "filler": 1.2}
    quick = {"stt_done": 0.6, "reply_audio_out": 0.9, "first_audio_out": 0.9}
    await repo.add_turn("c1", "agent", "greeting", T0, T0 + 3, {})
    await repo.add_turn("c1", "caller", "one", T0 + 5, T0 + 7, {"stt_done": 0.7})
    await repo.add_turn("c1", "agent", "reply one", T0 + 10, T0 + 12, reply)
    await repo.add_turn("c1", "caller", "two", T0 + 15, T0 + 17, {"stt_done": 0.6})
    await repo.add_turn("c1", "agent", "reply two", T0 + 17.9, T0 + 20, quick)
    await repo.add_turn("c1", "caller", "three", T0 + 25, T0 + 27, {"stt_done": 0.6})
    # the first turn's filler began twice (1.2 s, then 1.5 s after it had played), the
    # third turn's once, after its transcript (the HEARD event) or before it alike
    for at in (T0 + 8.2, T0 + 10.1, T0 + 28.2):
        await repo.add_event("c1", "filler", None, None, at, audited=False)
    await repo.add_event("c1", "heard", None, None, T0 + 28.4, audited=False)
    events = [(e.kind, e.at) for e in repo.events("c1")]

    rows = reply_rows(repo.turns("c1"), events)

    assert [row["fillers"] for row in rows] == [2, 0, 1]
    assert rows[0]["timings"] == reply
    assert rows[1]["timings"] == quick
    assert rows[2]["timings"] == {}  # no spoken reply with timings (e.g. the call ended)
    summary = fillers(rows)
    assert summary["max_per_turn"] == 2
    assert summary["share_turns_over_1"] == pytest.approx(1 / 3)
    assert summary["turns_by_count"] == {"0": 1, "1": 1, "2": 1}


def test_dialogues_cycle_the_kinds_and_cancel_a_different_seeded_patient_each_time() -> None:
    calls = [dialogue(i) for i in range(4 * len(KINDS))]
    assert [d.kind for d in calls[: len(KINDS)]] == list(KINDS)
    with (CLINIC_DIR / "appointments.csv").open(newline="") as fh:
        seeded = {row["patient_id"] for row in csv.DictReader(fh)}
    with (CLINIC_DIR / "patients.csv").open(newline="") as fh:
        patients = {row["id"] for row in csv.DictReader(fh)}
    cancels = [d.patient_id for d in calls if d.kind == "cancel"]
    assert len(set(cancels)) == len(cancels) == 4
    assert set(cancels) <= seeded
    assert BOOKING_PATIENT in patients
    assert all(d.lines for d in calls)

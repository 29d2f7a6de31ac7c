"""End to end: `appliance run` + `appliance call` over loopback SIP with real models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jiwer
import pytest

from appliance.errors import StoreError
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

PHRASES = [
    "Hello, I would like to see the dermatologist about a rash on my elbow.",
    "Could you tell me where I should park when I arrive?",
]
# Words of the caller that must never be readable outside the encrypted store.
SECRET_WORDS = ["dermatologist", "rash", "elbow", "park", "arrive"]


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def wer(truth: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(truth), normalise(hypothesis)))


@pytest.fixture(scope="module")
def finished_call(appliance, tmp_path_factory):
    before = {c["call_id"] for c in appliance.calls()}
    record = tmp_path_factory.mktemp("call") / "heard.wav"
    args = ["call", appliance.uri, "--json", "--record", str(record)]
    for phrase in PHRASES:
        args += ["--say", phrase]
    out = appliance.cli(*args, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    new = [c for c in appliance.calls() if c["call_id"] not in before]
    return report, new, record, out


def test_call_is_answered_with_the_disclosure_first(finished_call) -> None:
    report, _, record, _ = finished_call
    assert report["answered"] is True
    greeting = report["turns"][0]
    assert greeting["said"] is None
    assert greeting["gap_s"] is not None and greeting["gap_s"] < 2.0
    heard = normalise(greeting["heard"])
    assert heard.startswith("you're speaking with the automated assistant of") or heard.startswith(
        "you are speaking with the automated assistant of"
    ), heard
    assert record.stat().st_size > 16_000 * 2 * 3  # more than 3 s of audio was recorded


def test_each_phrase_gets_a_spoken_reply(finished_call) -> None:
    report, _, _, _ = finished_call
    replies = report["turns"][1:]
    assert [t["said"] for t in replies] == PHRASES
    for turn in replies:
        assert turn["gap_s"] is not None and turn["gap_s"] < 10.0
        assert len(normalise(turn["heard"]).split()) >= 2
    results = REPO / "var" / "test-results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "e2e-turns.json").write_text(
        json.dumps(
            {
                "greeting_s": report["turns"][0]["gap_s"],
                "turn_gaps_s": [t["gap_s"] for t in replies],
            }
        )
    )


def test_store_holds_both_phrases_and_replies(finished_call) -> None:
    _, calls, _, _ = finished_call
    assert len(calls) == 1
    call = calls[0]
    assert call["outcome"] == "caller-hung-up"
    turns = call["transcript"]
    caller = [t["text"] for t in turns if t["speaker"] == "caller"]
    agent = [t["text"] for t in turns if t["speaker"] == "agent"]
    assert len(caller) == 2
    for truth, got in zip(PHRASES, caller, strict=True):
        assert wer(truth, got) <= 0.20, (truth, got)
    assert agent[0].startswith("You're speaking with the automated assistant of")
    assert len(agent) == 3 and all(a.strip() for a in agent)
    timed = [t for t in turns if t["speaker"] == "agent" and t["timings"].get("first_audio_out")]
    assert len(timed) == 3  # the greeting and both replies


def test_no_plaintext_outside_the_encrypted_store(appliance, finished_call) -> None:
    _, _, _, cli_out = finished_call
    files = [p for p in appliance.var.rglob("*") if p.is_file()]
    db_files = [p for p in files if p.name.startswith("appliance.db")]
    assert any(p.name == "appliance.db-wal" for p in db_files) or db_files
    sinks = [*files, appliance.log]
    for path in sinks:
        data = path.read_bytes().lower()
        for word in SECRET_WORDS:
            assert word.encode() not in data, f"{word!r} in plaintext in {path.name}"
    # the CLI's own log output (stderr) is a sink too
    for word in SECRET_WORDS:
        assert word not in cli_out.stderr.lower()


def test_database_refuses_a_wrong_key(appliance) -> None:
    db_file = appliance.var / "appliance.db"
    with pytest.raises(StoreError) as err:
        Database.open(db_file, "00" * 32, MIGRATIONS)
    assert err.value.code == "store-bad-key"
    assert b"SQLite format 3" not in Path(db_file).read_bytes()[:16]

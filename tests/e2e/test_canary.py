"""Canary test: a whole call in which the caller says a made-up name, date of birth and
phone number (Piper speech over real SIP) into `appliance run` (SIP edge, agent worker,
the real CPU LLM engine, admin) with DEBUG logging on. Afterwards none
of the canaries, in any form they could take (words, digits, as Whisper wrote them), may
appear in any file under the data directory (database, WAL, a backup made here, temp,
the LLM engine's log, the audit anchor file, the health beacons), the captured log
output, or the /metrics page. (The appliance emits no traces: its only telemetry is the
JSON log and the metrics page.)"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.store.keys import load_key
from tests.conftest import REPO
from tests.e2e.conftest import APPLIANCE, Running, wait_healthy, write_config
from tests.integration.governance_calls import calling, metrics, speech

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

SAID = [
    "Please book me a checkup. My name is Zebulon Quackenbush, I was born on March third,"
    " nineteen sixty one, and my number is six one seven, five five five, zero one four two.",
]
WORDS = [
    "zebulon", "quackenbush", "quack and bush", "ackenbush",
    "march third", "march 3", "third of march",
    "nineteen sixty one", "nineteen sixty-one", "six one seven", "five five five",
    "zero one four two", "oh one four two",
]  # fmt: skip
DIGITS = ["1961", "0142", "6175550142", "5550142", "3/3/1961", "03/03/1961", "1961-03-03"]
SEPARATED = re.compile(r"\d[\d ./-]{5,}\d")  # numbers written with separators
DIGIT_RUNS = ["6175550142", "5550142", "1961", "03031961", "19610303", "331961"]


def found(data: bytes, words: list[str]) -> list[str]:
    """The canaries in `data`: words anywhere (any case), digits as whole numbers only."""
    text = data.decode("latin-1").lower()
    numbers = [*DIGITS, *(w for w in words if w.isdigit())]  # whole numbers: "1961" is not
    hits = [w for w in words if not w.isdigit() and w in text]  # found in "media_ms": 31961
    hits += [d for d in numbers if re.search(rf"(?<![\w.]){re.escape(d)}(?!\w|\.\d)", text)]
    for run in SEPARATED.findall(text):
        digits = re.sub(r"\D", "", run)
        if any(digits == d or (len(d) >= 7 and d in digits) for d in DIGIT_RUNS):
            hits.append(run)
    return hits


@pytest.fixture(scope="module")
def canary_call(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("canary")
    var, config = root / "var", root / "appliance.toml"
    sip_port, admin_port = write_config(config, var, models_dir)
    with config.open("a") as fh:
        fh.write('[log]\nlevel = "DEBUG"\n')
        # the quality audio sample on, every call kept: its rows are scanned too
        fh.write(
            "[quality]\naudio_sample = true\naudio_sample_share = 1.0\naudio_oversample = 1.0\n"
        )
    config.write_text(config.read_text().replace("[sip]\n", "[sip]\nworkers = 1\n", 1))
    (var / "tmp").mkdir(parents=True)
    log = root / "appliance.log"
    env = {"PYTHONUNBUFFERED": "1", "TMPDIR": str(var / "tmp")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*APPLIANCE, "--config", str(config), "run"], stdout=out, stderr=subprocess.STDOUT,
            cwd=REPO, env={**os.environ, **env},
        )  # fmt: skip
    running = Running(config, var, sip_port, admin_port, log, proc)
    try:
        phrases = [speech(models_dir, s) for s in SAID]
        wait_healthy(running, timeout=180)

        async def call() -> None:
            async with calling(running.uri) as caller:
                await caller.agent_turn(min_s=4.0, quiet_s=1.5)  # the greeting
                for n, phrase in enumerate(phrases, start=1):
                    await caller.say(phrase)
                    await caller.agent_turn(min_s=1.5, quiet_s=2.5, timeout_s=90)  # the reply
                    await asyncio.to_thread(wait_for_turns, running, 1 + 2 * n)

        asyncio.run(asyncio.wait_for(call(), 200))
        page = metrics(admin_port)
        backup = running.cli("db", "backup", str(var / "backups" / "canary.db"))
        assert backup.returncode == 0, backup.stderr[-2000:]
        reports = quality_reports(running)  # the sinks made from the call: scores, digests
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    assert code == 0, log.read_text()[-3000:]
    yield {"running": running, "metrics": page, "cli": backup.stdout + backup.stderr + reports}


def quality_reports(running: Running, timeout: float = 90.0) -> str:
    """Once the call is scored: what the quality and trace commands print about it, and
    the week's digest written as HTML and PDF under var/ (scanned with every file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scores = running.cli("quality", "scores", "--since", "1h", "--json")
        if scores.returncode == 0 and json.loads(scores.stdout):
            break
        time.sleep(2.0)
    else:
        raise AssertionError(f"the call was not scored within {timeout} s")
    year, week, _ = datetime.now(UTC).isocalendar()
    digests = running.var / "digests"
    call_id = json.loads(running.cli("db", "calls", "--limit", "1", "--json").stdout)[0]["call_id"]
    runs = [
        scores,
        running.cli("quality", "digest", "--since", "1d", "--json"),
        running.cli(
            "quality",
            "digest",
            "--week",
            f"{year}-W{week:02d}",
            "--out",
            str(running.var / "digests"),
        ),
        running.cli("quality", "queue", "list"),
        running.cli("db", "trace", call_id),
    ]
    for run in runs:
        assert run.returncode == 0, (run.args, run.stderr[-2000:])
    assert list(digests.glob("digest-*.pdf")), "the digest was written"
    return "".join(run.stdout + run.stderr for run in runs)


def wait_for_turns(running: Running, count: int, timeout: float = 90.0) -> None:
    """Until the store holds `count` turns of the call (a slow reply is still stored)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = running.cli("db", "calls", "--limit", "1", "--json")
        if out.returncode == 0 and json.loads(out.stdout)[0]["turns"] >= count:
            return
        time.sleep(1.0)
    raise AssertionError(f"fewer than {count} turns stored after {timeout} s")


def caller_turns(running: Running) -> list[str]:
    key = load_key("db.key", running.var / "keys" / "db.key").hex
    db = Database.open(running.var / "appliance.db", key, MIGRATIONS)
    try:
        rows = db.query(
            lambda c: c.execute("SELECT text FROM turns WHERE speaker = 'caller'").fetchall()
        )
    finally:
        db.close()
    return [str(r[0]) for r in rows]


def test_the_canaries_were_said_and_stored_encrypted(canary_call) -> None:
    turns = " ".join(caller_turns(canary_call["running"])).lower()
    # the call really carried them: the store (decrypted) has the name, year and number
    # (tiny.en spells the made-up name differently from run to run: match its parts)
    assert any(w in turns for w in ("zebul", "kenbush", "quack", "bush")), turns
    assert any(w in turns for w in ("1961", "sixty", " 61")), turns
    assert any(w in turns for w in ("0142", "142", "one four two", "555", "617")), turns


def test_the_agent_replied_after_hearing_them(canary_call) -> None:
    running: Running = canary_call["running"]
    key = load_key("db.key", running.var / "keys" / "db.key").hex
    db = Database.open(running.var / "appliance.db", key, MIGRATIONS)
    try:
        speakers = db.query(
            lambda c: c.execute("SELECT speaker FROM turns ORDER BY seq").fetchall()
        )
    finally:
        db.close()
    assert [s for (s,) in speakers][:3] == ["agent", "caller", "agent"]  # greeting, them, reply


def test_no_canary_in_files_logs_or_metrics(canary_call) -> None:
    running: Running = canary_call["running"]
    # what Whisper wrote is a form too: every name-like or numeric word of the caller
    heard = " ".join(caller_turns(running))
    extra = {w.lower() for w in re.findall(r"\b[A-Z][a-z]{4,}\b", heard)} - {"hello"}
    extra |= {n for n in re.findall(r"\d{4,}", heard)}
    words = [*WORDS, *sorted(extra)]
    files = [p for p in running.var.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "appliance.db" in names and "canary.db" in names  # the store and the backup
    assert any(p.parent.name == "log" for p in files)  # the workers' and engine's logs
    anchors = running.var / "audit" / "anchors.jsonl"  # exported audit anchors
    assert anchors in files and b'"type":"audit-anchor"' in anchors.read_bytes()
    beacon = running.var / "run" / "health" / "agent-0.json"  # the worker's health beacon
    assert beacon in files and b'"agent-0-stt"' in beacon.read_bytes()
    for path in [*files, running.log]:
        hits = found(path.read_bytes(), words)
        assert not hits, (path, hits)
    assert '"level": "DEBUG"' in running.log.read_text()
    assert "appliance_" in canary_call["metrics"]
    assert "appliance_kpi_proxy_signals{" in canary_call["metrics"]  # per use case, counts
    assert not found(canary_call["metrics"].encode(), words)
    assert not found(canary_call["cli"].encode(), words)
    for text in SAID:  # the check itself finds each canary as it was said
        assert found(text.encode(), words), text


METADATA = [  # the store's metadata sinks: only kinds, stages, codes, hashes, never PHI
    "SELECT call_id, kind, stage, code FROM call_events",
    "SELECT * FROM audit",
    "SELECT call_id, codec, remote_hash, outcome FROM calls",
    "SELECT * FROM identity_lockouts",
    "SELECT * FROM call_spans",  # the call's trace: span names, times, codes
    "SELECT * FROM call_scores",  # post-call scores (when the job has scored the call)
    "SELECT * FROM score_reviews",  # the reviewer's queue of unsure judge verdicts
    "SELECT * FROM wer_runs",  # WER results (counts and rates)
    # the quality sample's audio: every column but the audio itself (not text)
    "SELECT call_id, turn_seq, codec, rate, reason, spoken_at, kept_at FROM turn_audio",
    # the turns' metadata, every column but the text: times, stage timings (and the count
    # of low-probability words where [stt] word_confidence is on), Whisper's avg logprob
    "SELECT call_id, seq, speaker, started_at, ended_at, timings, stt_confidence FROM turns",
]


def test_no_canary_in_the_stores_metadata(canary_call) -> None:
    """Decrypted, the event stream (every stage and decision of the call), the audit log,
    the calls' caller hash, the identity lockouts, the call's trace and its scores hold
    no canary."""
    running: Running = canary_call["running"]
    key = load_key("db.key", running.var / "keys" / "db.key").hex
    db = Database.open(running.var / "appliance.db", key, MIGRATIONS)
    try:
        tables = [db.query(lambda c, q=q: c.execute(q).fetchall()) for q in METADATA]
    finally:
        db.close()
    kinds = {str(row[1]) for row in tables[0]}
    assert {"answered", "greeted", "heard", "replied", "ended"} <= kinds  # the stream is stored
    spans = {str(row[4]) for row in tables[4]}
    assert {"call", "greeting", "turn", "stt", "tts", "playout"} <= spans  # the trace too
    assert {str(row[4]) for row in tables[-2]} == {"sampled"}  # the caller's audio was kept
    caller = [json.loads(row[5]) for row in tables[-1] if row[2] == "caller"]
    assert caller and all(  # numbers only: a turn's timings are no place for words
        isinstance(v, (int, float)) or v is None for t in caller for v in t.values()
    )
    heard = " ".join(caller_turns(running))
    extra = {w.lower() for w in re.findall(r"\b[A-Z][a-z]{4,}\b", heard)} - {"hello"}
    words = [*WORDS, *sorted(extra)]
    for query, rows in zip(METADATA, tables, strict=True):
        assert not found(repr(rows).encode(), words), query

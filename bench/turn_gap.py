"""Turn-gap benchmark: real calls over loopback SIP against a freshly started appliance.

Starts `appliance run` with free ports in a temporary var dir (models from var/models),
places N calls with `appliance call` (each speaks the phrases below, synthesized with the
local voice, and measures the gap from the end of each phrase to the first agent audio at
the caller), stops the appliance, reads the per-stage turn timings from its store, and
writes JSON to bench/results/.

    .venv/bin/python bench/turn_gap.py --calls 5
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
APPLIANCE = [str(REPO / ".venv" / "bin" / "appliance")]
PHRASES = (
    "What are your opening hours?",
    "Is there parking near the clinic?",
    "Can I book an appointment for next week?",
    "Do you see children as well?",
)
STAGES = (
    "end_of_turn",
    "stt_done",
    "llm_first_token",
    "first_sentence",
    "tts_first_audio",
    "first_audio_out",
    "filler",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(
    path: Path, var: Path, models: Path, filler_after: float | None
) -> tuple[int, int]:
    sip, admin, llm, worker = free_port(), free_port(), free_port(), free_port()
    path.write_text(
        f"""
[paths]
var_dir = "{var}"
models_dir = "{models}"
[sip]
port = {sip}
workers = 1
worker_port = {worker}
rtp_port = {30000 + (sip % 200) * 40}
rtp_port_range = 40
[admin]
port = {admin}
[llm]
base_url = "http://127.0.0.1:{llm}/v1"
api_key_file = "{var}/keys/llm.key"
[llm.server]
port = {llm}
[store]
db_file = "{var}/appliance.db"
key_file = "{var}/keys/db.key"
"""
        + ("" if filler_after is None else f"[conversation]\nfiller_after_s = {filler_after}\n")
    )
    return sip, admin


def wait_healthy(proc: subprocess.Popen[bytes], admin: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the appliance exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the appliance was not healthy within {timeout} s")


def place_call(config: Path, uri: str, phrases: list[str]) -> dict[str, Any]:
    says = [arg for p in phrases for arg in ("--say", p)]
    cmd = [*APPLIANCE, "--config", str(config), "call", uri, *says, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=True)
    return dict(json.loads(out.stdout))


def summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None}
    ordered = sorted(values)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p90": pct(0.9),
        "p99": pct(0.99),
        "min": ordered[0],
        "max": ordered[-1],
    }


def stored_turns(var: Path) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Per-stage timings of every reply, and each call's outline, from the store (no text)."""
    sys.path.insert(0, str(REPO))
    from appliance.store.calls import CallRepository
    from appliance.store.db import Database

    key = (var / "keys" / "db.key").read_text().strip()
    db = Database.open(var / "appliance.db", key)
    try:
        repo = CallRepository(db)
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
        calls: list[dict[str, Any]] = []
        for call in reversed(repo.list_calls(100)):
            turns = repo.turns(call.call_id)
            calls.append(
                {
                    "outcome": call.outcome,
                    "speakers": [t.speaker for t in turns],
                    "events": [(e.kind, e.code) for e in repo.events(call.call_id)],
                }
            )
            for turn in turns:  # a reply turn carries the timings of the whole turn
                if turn.speaker != "agent" or not isinstance(turn.timings.get("stt_done"), float):
                    continue
                for stage in STAGES:
                    value = turn.timings.get(stage)
                    if isinstance(value, float):
                        stages[stage].append(value)
        return stages, calls
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--turns", type=int, default=2, help="phrases per call")
    parser.add_argument("--models", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--filler-after", type=float, help="[conversation] filler_after_s (default: 1.2)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the var dir and the log")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="turn-gap-") as tmp:
        var, config = Path(tmp) / "var", Path(tmp) / "bench.toml"
        sip, admin = write_config(config, var, args.models.resolve(), args.filler_after)
        log = (Path(tmp) / "appliance.log").open("wb")
        proc = subprocess.Popen(
            [*APPLIANCE, "--config", str(config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=tmp,
        )
        caller_gaps: list[float] = []
        try:
            wait_healthy(proc, admin, 300)
            uri = f"sip:clinic@127.0.0.1:{sip}"
            for i in range(args.calls):
                phrases = [PHRASES[(i + k) % len(PHRASES)] for k in range(args.turns)]
                report = place_call(config, uri, phrases)
                gaps = [t["gap_s"] for t in report["turns"] if t.get("said")]
                caller_gaps += [g for g in gaps if isinstance(g, float)]
                print(f"call {i + 1}/{args.calls}: gaps {gaps}", file=sys.stderr)
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        stages, calls = stored_turns(var)
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="turn-gap-var-"))
            subprocess.run(["cp", "-a", f"{tmp}/.", str(kept)], check=True)
            print(f"kept: {kept}", file=sys.stderr)

    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count()},
        "calls": args.calls,
        "filler_after_s": args.filler_after,
        "turn_gap_at_caller_s": summary(caller_gaps),
        "stages_s": {stage: summary(values) for stage, values in stages.items()},
        "calls_outline": calls,
        "note": "turn_gap_at_caller_s: end of the caller's phrase to the first agent audio "
        "heard by the caller (loopback SIP; the filler counts when it plays); stages_s: "
        "relative to the end of caller speech as the agent's VAD saw it, from the store; "
        "filler: when the filler started, on the turns where it played.",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"turn_gap-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""SIP capacity benchmark: N simultaneous calls with audio both ways for S seconds.

Starts `appliance run` with ceil(N / 4) agent workers (pjsua2 holds 4 calls per process)
in a temporary var dir, then one SIPp run places N calls through the Kamailio edge.
Each caller streams RTP the whole time (a quiet noise floor, so that the agent's VAD
stays idle and what is measured is the media plane, not STT/LLM work; `--echo` makes
SIPp echo the agent's audio back instead) and hangs up after S seconds. The agent plays
its greeting and then listens (re-prompts off).

Measured:
- CPU: utime+stime of the whole appliance process tree (workers, edge, LLM engine,
  supervisor) from /proc, idle before the calls and while all N calls are up; per call
  = (busy - idle) / N, in % of one core.
- Frames per call, from pjsua2's stream statistics logged by each worker at hang-up
  (`call media stats`): RTP packets received/lost/discarded, jitter-buffer frames lost,
  discarded (late) and empty (playout found no frame: a missing 20 ms), frames sent
  versus the 50/s expected.
- SIPp's successful/failed calls and the outcome of every call in the store.

    .venv/bin/python bench/sip_capacity.py --calls 20 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.appliance_proc import free_port, wait_healthy  # noqa: E402
from bench.report import run_info, write_result  # noqa: E402

APPLIANCE = [str(REPO / ".venv" / "bin" / "appliance")]
SCENARIO = REPO / "tests" / "e2e" / "sipp" / "uac_media.xml"
CALLS_PER_WORKER = 4
TICK = os.sysconf("SC_CLK_TCK")
FRAME_MS = 20


def write_config(path: Path, var: Path, models: Path, workers: int) -> tuple[int, int]:
    sip, admin, llm = free_port(), free_port(), free_port()
    worker = free_port()
    while any(p in (sip, admin, llm) for p in range(worker, worker + workers)):
        worker = free_port()
    path.write_text(
        f"""
[paths]
var_dir = "{var}"
models_dir = "{models}"
[sip]
port = {sip}
workers = {workers}
worker_port = {worker}
rtp_port = {30000 + (sip % 100) * 200}
rtp_port_range = {40 * workers}
invite_rate = 50
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
[conversation]
reprompt_after_s = 3600.0
"""
    )
    return sip, admin


def tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (ticks)
    return total / TICK


def cpu_percent(root: int, seconds: float) -> float:
    """% of one core used by the process tree over the next `seconds`."""
    pids = tree(root)
    before, start = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pids) - before) / (time.monotonic() - start)


def caller_audio(path: Path) -> None:
    """60 s of a quiet noise floor (-60 dBFS), mu-law 8 kHz: audio that is not speech."""
    synth = ["synth", "60", "whitenoise", "vol", "0.001"]
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-e", "mu-law", str(path), *synth], check=True
    )


def media_stats(var: Path) -> list[dict[str, Any]]:
    stats = []
    for log in sorted((var / "log").glob("agent-*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if '"call media stats"' in line:
                entry = json.loads(line)
                expected = entry["media_ms"] // FRAME_MS
                entry["tx_missing"] = max(0, expected - entry["tx_packets"])
                stats.append(entry)
    return stats


def spread(values: list[int]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "max": None}
    return {"n": len(values), "mean": round(statistics.fmean(values), 2), "max": max(values)}


def outcomes(config: Path) -> dict[str, int]:
    cmd = [*APPLIANCE, "--config", str(config), "db", "calls", "--limit", "500", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    counts: dict[str, int] = {}
    for call in json.loads(out.stdout):
        key = str(call.get("outcome"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def run_calls(sip: int, calls: int, seconds: int, audio: Path, echo: bool) -> subprocess.Popen[str]:
    scenario = audio.with_name("uac_media.xml")
    text = SCENARIO.read_text().replace("__WAV__", str(audio))
    scenario.write_text(text.replace("__CALL_MS__", str(seconds * 1000)))
    cmd = ["sipp", f"127.0.0.1:{sip}", "-sf", str(scenario), "-nostdin", "-i", "127.0.0.1"]
    cmd += ["-p", str(free_port()), "-mp", str(free_port()), "-m", str(calls), "-l", str(calls)]
    cmd += ["-r", "10", "-timeout", f"{seconds + 60}s", "-timeout_error"]
    if echo:
        cmd.append("-rtp_echo")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sipp_counts(stdout: str) -> dict[str, int]:
    def last(name: str) -> int:
        match = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", stdout)
        return int(match[-1]) if match else -1

    return {"successful": last("Successful call"), "failed": last("Failed call")}


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    workers = math.ceil(args.calls / CALLS_PER_WORKER)
    var, config = tmp / "var", tmp / "bench.toml"
    sip, admin = write_config(config, var, args.models.resolve(), workers)
    audio = tmp / "noise-ulaw.wav"
    caller_audio(audio)
    with (tmp / "appliance.log").open("wb") as log:
        proc = subprocess.Popen(
            [*APPLIANCE, "--config", str(config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=tmp,
        )
    try:
        ready_s = wait_healthy(proc, admin, 400)
        time.sleep(5)  # start-up work settles
        idle = cpu_percent(proc.pid, 10)
        sipp = run_calls(sip, args.calls, args.seconds, audio, args.echo)
        ramp = args.calls / 10 + 5  # 10 calls/s, then the greetings end
        time.sleep(ramp)
        window = max(5.0, args.seconds - ramp - 5)
        busy = cpu_percent(proc.pid, window)
        out, _ = sipp.communicate(timeout=args.seconds + 120)
        time.sleep(3)  # hang-ups logged and stored
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stats = media_stats(var)
    keys = ("rx_packets", "rx_lost", "rx_discarded", "jbuf_lost", "jbuf_discarded")
    keys += ("jbuf_empty", "tx_packets", "tx_missing", "media_ms")
    return {
        **run_info(),
        "calls": args.calls,
        "seconds": args.seconds,
        "workers": workers,
        "caller_audio": "rtp echo" if args.echo else "noise floor -60 dBFS, PCMU",
        "appliance_ready_s": round(ready_s, 1),
        "sipp": sipp_counts(out) | {"exit": sipp.returncode},
        "store_outcomes": outcomes(config),
        "cpu_percent_of_one_core": {
            "idle": round(idle, 1),
            "with_calls": round(busy, 1),
            "per_call": round((busy - idle) / args.calls, 2),
            "window_s": round(window, 1),
        },
        "per_call_frames": {key: spread([int(s[key]) for s in stats]) for key in keys},
        "note": "per_call_frames from pjsua2 stream statistics, sampled each second and "
        "logged at hang-up (the last second is not counted); tx_missing = media_ms/20 - "
        "tx_packets; jbuf_empty counts 20 ms playout ticks with no frame (before the "
        "caller's first packet too).",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--echo", action="store_true", help="SIPp echoes the agent's audio")
    parser.add_argument("--models", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sip-capacity-") as tmp:
        result = measure(args, Path(tmp))
    path = write_result(args.out, "sip_capacity", result)
    print(json.dumps(result, indent=2))
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

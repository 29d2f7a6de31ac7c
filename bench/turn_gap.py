"""Turn-gap benchmark: real calls over loopback SIP, the appliance next to a naive pipeline.

Starts `appliance run` with its default config (the clinic agent: deterministic workflows,
rules-based understanding, the synthetic demo clinic seeded on first start, the demo front
desk, the PCI pause) in a temporary var dir, with free ports and models from var/models,
and beside it bench/naive_agent.py (the same models and the LLM server, but a fixed 800 ms
silence, the whole transcription, the whole free-LLM reply and the whole synthesis before
playing). Places N calls to each, alternating, with `appliance call --play ...
--follow-transfer`. By default each call is a clinic dialogue (turn_gap_dialogues.py:
booking with identity over two turns, FAQ, cancel, a person request), the caller's lines
synthesized by Piper in another voice setting; `--script questions` plays the older
single questions and Asterisk prompts (turn_gap_support.py). Then reads the appliance's
store (per-turn timings, fillers, outcomes: turn_gap_store.py) and the naive agent's JSON
lines, and writes JSON and a PNG plot to bench/results/.

    .venv/bin/python bench/turn_gap.py --calls 8
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.appliance_proc import free_port, wait_healthy  # noqa: E402
from bench.report import write_result  # noqa: E402
from bench.turn_gap_dialogues import dialogue, synthesize  # noqa: E402
from bench.turn_gap_results import assemble  # noqa: E402
from bench.turn_gap_store import Placed, read_store  # noqa: E402
from bench.turn_gap_support import caller_utterances, paused_utterances, plot  # noqa: E402

# this checkout's code, in every child (`appliance run` spawns its workers and the desk)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
)
APPLIANCE = [sys.executable, "-m", "appliance"]
NAIVE = [sys.executable, str(REPO / "bench" / "naive_agent.py")]
VOICE = "en_US-joe-medium"  # Piper voice of the caller's lines (another voice setting)
CALL_TIMEOUT_S = 600  # one whole call (a booking dialogue to the naive agent: ~3 min)


def write_config(
    path: Path,
    var: Path,
    models: Path,
    filler_after: float | None,
    early_stt_ms: int | None,
    early_end: bool = True,
    stt_window_s: float | None = None,
) -> tuple[int, int]:
    """The defaults but for paths and ports (and one agent worker: one call at a time).
    Nothing here turns the workflows, the demo clinic, its desk or the PCI pause off."""
    vad = ("" if early_stt_ms is None else f"early_stt_ms = {early_stt_ms}\n") + (
        "" if early_end else "early_end_of_turn = false\n"
    )
    sip, admin, llm, worker, desk = (free_port() for _ in range(5))
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
audit_key_file = "{var}/keys/audit-signing.key"
[demo]
front_desk_port = {desk}
"""
        + ("" if filler_after is None else f"[conversation]\nfiller_after_s = {filler_after}\n")
        + (f"[vad]\n{vad}" if vad else "")
        + ("" if stt_window_s is None else f"[stt]\nwindow_s = {stt_window_s}\n")
    )
    return sip, admin


def place_call(config: Path, uri: str, utterances: list[Path]) -> dict[str, Any]:
    plays = [arg for p in utterances for arg in ("--play", str(p))]
    cmd = [*APPLIANCE, "--config", str(config), "call", uri, *plays, "--json"]
    cmd.append("--follow-transfer")  # like a PBX phone: the person request reaches the desk
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=CALL_TIMEOUT_S, check=True)
    return dict(json.loads(out.stdout))


def start_naive(config: Path, out: Path, tmp: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [*NAIVE, "--config", str(config), "--port", str(port), "--out", str(out),
         "--rtp-port", str(42000 + (port % 100) * 40)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp,
    )  # fmt: skip
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the naive agent did not start")
    return proc, f"sip:clinic@127.0.0.1:{port}"


def naive_turns(path: Path) -> dict[str, list[float]]:
    stages: dict[str, list[float]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            for stage, value in json.loads(line).items():
                stages.setdefault(stage, []).append(float(value))
    return stages


Plan = list[tuple[str, str | None, list[Path]]]  # per call: kind, patient id, lines


def plan_calls(args: argparse.Namespace, tmp: Path) -> tuple[Plan, list[str]]:
    """What each call plays, and the names of the utterances (for the result)."""
    models = args.models.resolve()
    if args.paused_ms is None and args.script == "clinic":
        dialogues = [dialogue(i) for i in range(args.calls)]
        wavs = synthesize(models, VOICE, tmp, {line for d in dialogues for line in d.lines})
        plan = [(d.kind, d.patient_id, [wavs[line] for line in d.lines]) for d in dialogues]
        names = [f"{d.kind}:{len(d.lines)} lines:{d.patient_id or '-'}" for d in dialogues]
        return plan, names  # the lines themselves: turn_gap_dialogues.py
    if args.paused_ms is None:
        utterances = caller_utterances(models, VOICE, tmp)
    else:
        utterances = paused_utterances(models, VOICE, tmp, args.paused_ms)
    kind = "questions" if args.paused_ms is None else "paused"
    plan = []
    for i in range(args.calls):
        picked = [utterances[(i * args.turns + k) % len(utterances)] for k in range(args.turns)]
        plan.append((kind, None, [path for _, path in picked]))
    return plan, [f"{kind}:{path.name}" for kind, path in utterances]


def run_calls(config: Path, uris: dict[str, str], plan: Plan) -> dict[str, list[Placed]]:
    """Each call of the plan to each pipeline in turn (the same lines to both)."""
    placed: dict[str, list[Placed]] = {name: [] for name in uris}
    for i, (kind, patient, lines) in enumerate(plan):
        for name, uri in uris.items():
            call = Placed(i, kind, patient, time.time(), 0.0)
            try:
                report = place_call(config, uri, lines)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                report = {"turns": []}  # counted, the run goes on (the store shows why)
                call.error = type(exc).__name__
            call.ended = time.time()
            said = [t["gap_s"] for t in report["turns"] if t.get("said")]
            call.gaps = [g if isinstance(g, float) else None for g in said]
            placed[name].append(call)
            print(f"call {i + 1}/{len(plan)} {kind} {name}: gaps {said} {call.error or ''}",
                  file=sys.stderr)  # fmt: skip
    return placed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=8, help="calls per pipeline")
    parser.add_argument(
        "--script",
        choices=("clinic", "questions"),
        default="clinic",
        help="clinic: the clinic dialogues, one kind per call in turn (default); "
        "questions: --turns single questions and Asterisk prompts per call",
    )
    parser.add_argument("--turns", type=int, default=2, help="--script questions: lines per call")
    parser.add_argument("--models", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--filler-after", type=float, help="[conversation] filler_after_s (default: 1.2)"
    )
    parser.add_argument("--early-stt-ms", type=int, help="[vad] early_stt_ms (default: 300)")
    parser.add_argument(
        "--no-early-end",
        action="store_true",
        help="[vad] early_end_of_turn = false: every turn waits out min_silence_ms",
    )
    parser.add_argument("--no-naive", action="store_true", help="the appliance alone")
    parser.add_argument(
        "--stt-window-s", type=float, help="[stt] window_s (default 30; bench/stt_window.py)"
    )
    parser.add_argument(
        "--paused-ms",
        type=int,
        help="instead of the script, play sentence pairs with this pause inside "
        "(e.g. 450): reports how often the appliance took one as two turns (split_rate)",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="print the turns of a clinic call that missed its outcome to stderr "
        "(synthetic demo data; never written to the result)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the var dir and the log")
    return parser.parse_args()


def stop(naive: subprocess.Popen[str] | None, proc: subprocess.Popen[bytes]) -> None:
    if naive is not None:
        naive.communicate(timeout=60)  # closes its stdin: it stops
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="turn-gap-") as tmp:
        var, config = Path(tmp) / "var", Path(tmp) / "bench.toml"
        sip, admin = write_config(
            config,
            var,
            args.models.resolve(),
            args.filler_after,
            args.early_stt_ms,
            not args.no_early_end,
            args.stt_window_s,
        )
        plan, names = plan_calls(args, Path(tmp))
        log = (Path(tmp) / "appliance.log").open("wb")
        proc = subprocess.Popen(
            [*APPLIANCE, "--config", str(config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=tmp,
        )
        naive, naive_out = None, Path(tmp) / "naive.jsonl"
        try:
            wait_healthy(proc, admin, 300)
            uris = {"appliance": f"sip:clinic@127.0.0.1:{sip}"}
            if not args.no_naive:
                naive, uris["naive"] = start_naive(config, naive_out, Path(tmp))
            placed = run_calls(config, uris, plan)
        finally:
            stop(naive, proc)
            log.close()
        reading = read_store(var, placed["appliance"], args.diagnose)
        naive_stages = naive_turns(naive_out)
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="turn-gap-var-"))
            subprocess.run(["cp", "-a", f"{tmp}/.", str(kept)], check=True)
            print(f"kept: {kept}", file=sys.stderr)

    result = assemble(args, names, placed, reading, naive_stages)
    path = write_result(args.out, "turn_gap", result)
    png = path.with_suffix(".png")
    drawn = plot(result, png)
    shown = {k: v for k, v in result.items() if k not in ("calls_outline", "turns")}
    print(json.dumps(shown, indent=2))
    print(f"written: {path}" + (f" and {png}" if drawn else " (no matplotlib: no plot)"),
          file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()

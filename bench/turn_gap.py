"""Turn-gap benchmark: real calls over loopback SIP, the appliance next to a naive pipeline.

Starts `appliance run` with free ports in a temporary var dir (models from var/models) and,
beside it, bench/naive_agent.py (the same models and LLM server, but a fixed 800 ms
silence, the whole transcription, the whole LLM reply and the whole synthesis before
playing). Places N calls to each, alternating, with `appliance call --play`: each call
plays `--turns` caller utterances (Piper phrases in another voice setting, and real
Asterisk telephone prompts; see turn_gap_support.py) and measures the gap from the end of
each to the first agent audio at the caller. Then reads the per-stage timings (the
appliance's store; the naive agent's JSON lines) and writes JSON and a PNG plot to
bench/results/.

    .venv/bin/python bench/turn_gap.py --calls 5
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.appliance_proc import free_port, wait_healthy  # noqa: E402
from bench.report import run_info, write_result  # noqa: E402
from bench.turn_gap_support import (  # noqa: E402
    caller_utterances,
    paused_utterances,
    plot,
    summary,
)

APPLIANCE = [str(REPO / ".venv" / "bin" / "appliance")]
NAIVE = [str(REPO / ".venv" / "bin" / "python"), str(REPO / "bench" / "naive_agent.py")]
NAIVE_STAGES = ("end_of_turn", "stt_done", "llm_done", "tts_done", "first_audio_out")
STAGES = (
    "end_of_turn",
    "stt_done",
    "llm_first_token",
    "first_sentence",
    "tts_first_audio",
    "reply_audio_out",
    "first_audio_out",
    "filler",
    "stt_early",  # 1.0 when the speculative transcript served the turn
    "eot_early",  # 1.0 when the turn ended at its first pause (semantic end of turn)
)


def write_config(
    path: Path,
    var: Path,
    models: Path,
    filler_after: float | None,
    early_stt_ms: int | None,
    early_end: bool = True,
    stt_window_s: float | None = None,
) -> tuple[int, int]:
    vad = ("" if early_stt_ms is None else f"early_stt_ms = {early_stt_ms}\n") + (
        "" if early_end else "early_end_of_turn = false\n"
    )
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
        + (f"[vad]\n{vad}" if vad else "")
        + ("" if stt_window_s is None else f"[stt]\nwindow_s = {stt_window_s}\n")
    )
    return sip, admin


def place_call(config: Path, uri: str, utterances: list[Path]) -> dict[str, Any]:
    plays = [arg for p in utterances for arg in ("--play", str(p))]
    cmd = [*APPLIANCE, "--config", str(config), "call", uri, *plays, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=True)
    return dict(json.loads(out.stdout))


def stored_turns(var: Path) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Per-stage timings of every reply, and each call's outline, from the store (no text)."""
    sys.path.insert(0, str(REPO))
    from appliance.services.app_db import MIGRATIONS
    from appliance.store.calls import CallRepository
    from appliance.store.db import Database

    key = (var / "keys" / "db.key").read_text().strip()
    db = Database.open(var / "appliance.db", key, MIGRATIONS)
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


def start_naive(config: Path, out: Path, tmp: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [*NAIVE, "--config", str(config), "--port", str(port), "--out", str(out),
         "--rtp-port", str(42000 + (port % 100) * 40)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the naive agent did not start")
    return proc, f"sip:clinic@127.0.0.1:{port}"


def naive_turns(path: Path) -> dict[str, list[float]]:
    stages: dict[str, list[float]] = {s: [] for s in NAIVE_STAGES}
    if path.is_file():
        for line in path.read_text().splitlines():
            for stage, value in json.loads(line).items():
                stages.setdefault(stage, []).append(float(value))
    return stages


def run_calls(
    args: argparse.Namespace, config: Path, uris: dict[str, str], utterances: list[Any]
) -> dict[str, list[float]]:
    gaps: dict[str, list[float]] = {name: [] for name in uris}
    for i in range(args.calls):
        picked = [utterances[(i * args.turns + k) % len(utterances)] for k in range(args.turns)]
        for name, uri in uris.items():  # the same utterances to each pipeline, alternating
            report = place_call(config, uri, [path for _, path in picked])
            said = [t["gap_s"] for t in report["turns"] if t.get("said")]
            gaps[name] += [g for g in said if isinstance(g, float)]
            print(f"call {i + 1}/{args.calls} {name}: gaps {said}", file=sys.stderr)
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5, help="calls per pipeline")
    parser.add_argument("--turns", type=int, default=2, help="caller utterances per call")
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
        help="instead of the usual utterances, play sentence pairs with this pause inside "
        "(e.g. 450): reports how often the appliance took one as two turns (split_rate)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the var dir and the log")
    args = parser.parse_args()

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
        voice = "en_US-joe-medium"
        if args.paused_ms is None:
            utterances = caller_utterances(args.models.resolve(), voice, Path(tmp))
        else:
            utterances = paused_utterances(args.models.resolve(), voice, Path(tmp), args.paused_ms)
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
            gaps = run_calls(args, config, uris, utterances)
        finally:
            if naive is not None:
                naive.communicate(timeout=60)  # closes its stdin: it stops
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        stages, calls = stored_turns(var)
        naive_stages = naive_turns(naive_out)
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="turn-gap-var-"))
            subprocess.run(["cp", "-a", f"{tmp}/.", str(kept)], check=True)
            print(f"kept: {kept}", file=sys.stderr)

    early = stages.pop("stt_early", [])
    eot_early = stages.pop("eot_early", [])
    pipelines: dict[str, Any] = {
        "appliance": {
            "stt_early_rate": sum(early) / len(early) if early else None,
            "eot_early_rate": sum(eot_early) / len(eot_early) if eot_early else None,
            # > 1: utterances taken as two turns (a pause inside cut by the end of turn)
            "caller_turns_per_utterance": sum(c["speakers"].count("caller") for c in calls)
            / max(1, args.calls * args.turns),
            "caller_gaps_s": gaps["appliance"],
            "turn_gap_at_caller_s": summary(gaps["appliance"]),
            "stages_s": {stage: summary(values) for stage, values in stages.items()},
        }
    }
    if "naive" in gaps:
        pipelines["naive"] = {
            "caller_gaps_s": gaps["naive"],
            "turn_gap_at_caller_s": summary(gaps["naive"]),
            "stages_s": {stage: summary(values) for stage, values in naive_stages.items()},
        }
    result = {
        **run_info(),
        "calls_per_pipeline": args.calls,
        "filler_after_s": args.filler_after,
        "early_stt_ms": args.early_stt_ms,
        "early_end_of_turn": not args.no_early_end,
        "paused_ms": args.paused_ms,
        "stt_window_s": args.stt_window_s,
        "caller_utterances": [f"{kind}:{path.name}" for kind, path in utterances],
        "pipelines": pipelines,
        "calls_outline": calls,
        "note": "turn_gap_at_caller_s: end of the caller's utterance to the first agent audio "
        "heard by the caller (loopback SIP; for the appliance the filler counts when it "
        "plays); stages_s: relative to the end of caller speech as each agent's VAD saw it "
        "(appliance: from its store; reply_audio_out is the reply's own first audio); "
        "naive: fixed 800 ms silence, whole transcription, whole LLM reply, whole synthesis.",
    }
    naive_p50 = pipelines.get("naive", {}).get("turn_gap_at_caller_s", {}).get("p50")
    own_p50 = pipelines["appliance"]["turn_gap_at_caller_s"]["p50"]
    if naive_p50 and own_p50:
        result["p50_ratio_appliance_to_naive"] = own_p50 / naive_p50
        reply_p50 = pipelines["appliance"]["stages_s"]["reply_audio_out"]["p50"]
        naive_out_p50 = pipelines["naive"]["stages_s"]["first_audio_out"]["p50"]
        if reply_p50 and naive_out_p50:
            result["p50_ratio_reply_audio_to_naive"] = reply_p50 / naive_out_p50
    path = write_result(args.out, "turn_gap", result)
    png = path.with_suffix(".png")
    drawn = plot(result, png)
    print(json.dumps({k: v for k, v in result.items() if k != "calls_outline"}, indent=2))
    print(f"written: {path}" + (f" and {png}" if drawn else " (no matplotlib: no plot)"),
          file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()

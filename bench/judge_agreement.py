"""The LLM judge's agreement with the labelled synthetic calls, per criterion.

    .venv/bin/python bench/judge_agreement.py              # the local CPU model (var/models)
    .venv/bin/python bench/judge_agreement.py --limit 10   # the first 10 calls only
    .venv/bin/python bench/judge_agreement.py --set tune   # the set prompts are tuned on
    .venv/bin/python bench/judge_agreement.py --set tune --every 3 \
        --model qwen2.5-coder-1.5b-instruct-q4_k_m --models-dir DIR   # another model

Runs appliance/quality/judge.py's three questions per call over judge_set.toml
(or judge_tune.toml, tests/assets/quality/) with the configured `[llm.server]` model, started as
the appliance starts it (llama.cpp server on loopback, a fresh key, a free port), and
reports the share of calls where each criterion's verdict equals the label. A criterion
under 80% is advisory (appliance/quality/judge.py ADVISORY; it never feeds a phase gate).
Writes bench/results/judge_agreement-<UTC>.json (judge_tune-<UTC>.json for the tune set;
ids and codes only: the sets are synthetic). Tune prompts on judge_tune.toml only; score
judge_set.toml once per final candidate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.config import load_settings  # noqa: E402
from appliance.llm.judge_model import LlmJudgeModel  # noqa: E402
from appliance.llm.server import LlmServerProcess  # noqa: E402
from appliance.quality.agreement import load_set, measure  # noqa: E402
from appliance.quality.judge import judge_version  # noqa: E402

SETS = {
    "judge": ROOT / "tests" / "assets" / "quality" / "judge_set.toml",  # scored, not tuned on
    "tune": ROOT / "tests" / "assets" / "quality" / "judge_tune.toml",  # prompts tuned on it
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_server(
    model: str | None, models_dir: Path | None
) -> tuple[LlmServerProcess, LlmJudgeModel, str]:
    settings = load_settings(None)
    cfg = msgspec.structs.replace(
        settings.llm.server, port=free_port(), host="127.0.0.1",
        model=model or settings.llm.server.model,
    )  # fmt: skip
    run_dir = Path(tempfile.mkdtemp(prefix="bench-judge-"))
    key = secrets.token_urlsafe(24)
    models = models_dir or settings.path(settings.paths.models_dir)
    model_file = models / cfg.model / "model.gguf"
    server = LlmServerProcess(cfg, model_file, key, run_dir, run_dir / "llm.log")
    await server.start(timeout_s=300.0)
    mode = settings.workflows.structured_output
    return server, LlmJudgeModel(server.base_url, key, cfg.model, mode, timeout_s=120.0), mode


async def run(
    set_path: Path,
    limit: int | None,
    model_name: str | None,
    models_dir: Path | None,
    every: int = 1,
) -> dict[str, Any]:
    records = load_set(set_path)[::every][:limit]
    started = time.perf_counter()
    server, model, mode = await start_server(model_name, models_dir)
    load_s = time.perf_counter() - started
    try:
        t0 = time.perf_counter()
        report = await asyncio.to_thread(  # the judge blocks, as on the scoring thread
            measure, model, records, lambda i: print(f"\r{i}/{len(records)}", end="", flush=True)
        )
        print()
        judge_s = time.perf_counter() - t0
    finally:
        await server.stop()
    return {
        "model": model.model_name,
        "structured_output": mode,
        "judge_version": judge_version(model.model_name),
        "set": str(set_path.relative_to(ROOT)),
        "calls": len(records),
        "server_start_s": round(load_s, 1),
        "judge_s_per_call": round(judge_s / max(len(records), 1), 2),
        **report,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="the first N calls only")
    parser.add_argument(
        "--set",
        choices=sorted(SETS),
        default="judge",
        help="judge: the scored set (default); tune: the set prompts are tuned on",
    )
    parser.add_argument("--every", type=int, default=1, help="every Nth call only (a sample)")
    parser.add_argument("--model", default=None, help="a model directory name (default: config)")
    parser.add_argument("--models-dir", type=Path, default=None, help="default: config's")
    args = parser.parse_args()
    result = asyncio.run(run(SETS[args.set], args.limit, args.model, args.models_dir, args.every))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kind = "judge_agreement" if args.set == "judge" else "judge_tune"
    out = ROOT / "bench" / "results" / f"{kind}-{stamp}.json"
    report = {"command": " ".join(sys.argv), "cpus": os.cpu_count(), **result}
    out.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    for name, r in result["criteria"].items():
        print(f"{name:24} agreement {r['agreement']:.0%} (n={r['n']})")
    print("advisory:", ", ".join(result["advisory"]) or "none", "| errors:", len(result["errors"]))
    print(f"written: {out}")

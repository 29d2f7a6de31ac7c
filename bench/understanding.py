"""Understanding on the labelled caller lines: intent accuracy, slot exact match, latency.

    .venv/bin/python bench/understanding.py                  # as [workflows] llm_intents says
    .venv/bin/python bench/understanding.py --llm tie        # the LLM picks between two intents
    .venv/bin/python bench/understanding.py --llm unmatched  # and where the rules hear nothing

Runs the product's understander (appliance/workflows/understander.py) over
tests/assets/understanding/lines_tune.toml and lines_heldout.toml, with the demo clinic's
providers, appointment types and knowledge base as its vocabulary, and "now" pinned to each
file's `reference_now`. With `--llm tie|unmatched` it starts the CPU LLM server as the
appliance does (var/models, loopback, a fresh key) and asks it where the setting says.
A name said alone ("maria gonzalez") is read as the agent reads an answer to "your full
name and date of birth?", as in a call. Writes bench/results/understanding-<UTC>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.config import load_settings  # noqa: E402
from appliance.llm.client import OpenAIChatModel  # noqa: E402
from appliance.llm.server import LlmServerProcess  # noqa: E402
from appliance.llm.understanding import LlmIntents  # noqa: E402
from appliance.workflows.understander import Understander  # noqa: E402
from tests.understanding_eval import demo_vocabulary, produced_slots  # noqa: E402

ASSETS = ROOT / "tests" / "assets" / "understanding"
PARTS = {
    "tune": "lines_tune.toml",
    "dev": "lines_dev.toml",
    "dev2": "lines_dev2.toml",
    "dev3": "lines_dev3.toml",
    "dev4": "lines_dev4.toml",
    "dev5": "lines_dev5.toml",
    "dev6": "lines_dev6.toml",
    "dev7": "lines_dev7.toml",
    "dev8": "lines_dev8.toml",
    "dev9": "lines_dev9.toml",
    "dev10": "lines_dev10.toml",
    "dev11": "lines_dev11.toml",
    "dev12": "lines_dev12.toml",
    "dev13": "lines_dev13.toml",
    "dev14": "lines_dev14.toml",
    "dev15": "lines_dev15.toml",
    "dev16": "lines_dev16.toml",
    "dev17": "lines_dev17.toml",
    "dev18": "lines_dev18.toml",
    "dev19": "lines_dev19.toml",
    "held-out": "lines_heldout.toml",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_part(u: Understander, path: Path) -> dict[str, Any]:
    data = tomllib.loads(path.read_text("utf-8"))  # noqa: ASYNC240
    tz = ZoneInfo("America/New_York")
    now = datetime.fromisoformat(data["reference_now"]).replace(tzinfo=tz)
    lines = data["line"]
    right, slot_lines, slot_right, ms, misses, sources = 0, 0, 0, [], [], {"rules": 0, "llm": 0}
    for line in lines:
        started = time.perf_counter()
        got = await u.understand(line["text"], now)
        ms.append((time.perf_counter() - started) * 1000)
        sources[got.source] += 1
        ok = got.intent.value == line["intent"]
        right += ok
        expected = {k: str(v) for k, v in line.get("slots", {}).items()}
        produced = produced_slots(got, line["text"])
        if expected or produced:
            slot_lines += 1
            slot_right += expected == produced
        if not ok or ((expected or produced) and expected != produced):
            misses.append(
                {
                    "text": line["text"],
                    "want": line["intent"],
                    "got": got.intent.value,
                    "want_slots": expected,
                    "got_slots": produced,
                }
            )
    return {
        "lines": len(lines),
        "intent_accuracy": round(right / len(lines), 4),
        "slot_lines": slot_lines,
        "slot_exact_match": round(slot_right / slot_lines, 4) if slot_lines else None,
        "latency_ms": {
            "p50": round(statistics.median(ms), 2),
            "p95": round(pct(ms, 0.95), 2),
            "max": round(max(ms), 2),
        },
        "decided_by": sources,
        "misses": misses,
    }


def without_miss_texts(result: dict[str, Any]) -> dict[str, Any]:
    """The held-out part's result with its misses as a count: its lines are never written
    where someone tuning the rules could read them."""
    return {k: v for k, v in result.items() if k != "misses"} | {"misses": len(result["misses"])}


async def with_llm(mode: str) -> tuple[Understander, LlmServerProcess | None]:
    if mode == "never":
        return Understander(None, "never"), None
    settings = load_settings(None)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-understanding-"))
    key = secrets.token_urlsafe(24)
    model = settings.path(settings.paths.models_dir) / settings.llm.server.model / "model.gguf"
    server = LlmServerProcess(settings.llm.server, model, key, run_dir, run_dir / "llm.log")
    await server.start()
    chat = OpenAIChatModel(
        server.base_url, key, "local", timeout_s=10.0, max_tokens=16, temperature=0.0
    )
    wf = settings.workflows
    intents = LlmIntents(chat, wf.structured_output, wf.understand_timeout_s)
    return Understander(intents, mode), server  # type: ignore[arg-type]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    args.llm = args.llm or load_settings(None).workflows.llm_intents
    understander, server = await with_llm(args.llm)
    understander.vocabulary = demo_vocabulary()
    try:
        chosen = {p: n for p, n in PARTS.items() if not args.show_misses or p in args.show_misses}
        return {part: await run_part(understander, ASSETS / name) for part, name in chosen.items()}
    finally:
        if server is not None:
            await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--llm", choices=["never", "tie", "unmatched"], help="default: the config's llm_intents"
    )
    tunable = [part for part in PARTS if part != "held-out"]  # held-out misses are never shown
    parser.add_argument(
        "--show-misses",
        choices=tunable,
        action="append",
        default=[],
        help="score only this tuning file (repeatable) and print its misses",
    )
    args = parser.parse_args()
    results = asyncio.run(main(args))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"understanding-{stamp}.json"
    report = {"command": " ".join(sys.argv), "cpus": os.cpu_count(), "llm": args.llm, **results}
    if "held-out" in report:  # a full run: the figures bench/README.md quotes
        report["held-out"] = without_miss_texts(report["held-out"])
        out.write_text(json.dumps(report, indent=2), "utf-8")
    for part, r in results.items():
        summary = {k: v for k, v in r.items() if k != "misses"}
        print(part, json.dumps(summary))
        if part in args.show_misses:
            for miss in r["misses"]:
                print("  ", json.dumps(miss))
    if out.exists():
        print(f"written: {out}")

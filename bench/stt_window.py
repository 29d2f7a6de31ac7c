"""STT encoder window: speed and accuracy of `[stt] window_s` on recorded telephone speech.

Transcribes every Asterisk prompt (Debian asterisk-core-sounds-en-wav, 8 kHz recordings
with reference texts) up to `--max-s` long with each window, through the appliance's own
WhisperStt, and reports per window: median and p90 seconds per clip, the word error rate
against the reference texts, and how many transcripts differ (in words) from the 30 s
window's. JSON to bench/results/stt_window-<UTC time>.json.

    .venv/bin/python bench/stt_window.py --clips 60 --windows 30 20 15 10
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import wave
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.report import run_info, write_result  # noqa: E402

SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")  # asterisk-core-sounds-en-wav
TEXTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def references() -> dict[str, str]:
    found: dict[str, str] = {}
    with gzip.open(TEXTS, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            name, sep, text = line.partition(":")
            if sep and text.strip() and not text.strip().startswith("["):
                found[name.strip()] = text.strip()
    return found


def words(text: str) -> list[str]:
    found = re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()
    return [str(NUMBERS.index(w)) if w in NUMBERS else w for w in found]


def clips(count: int, max_s: float) -> list[tuple[str, bytes, int, str]]:
    """The first `count` prompts (sorted by name) of at most `max_s` with a reference text."""
    chosen = []
    for name, text in sorted(references().items()):
        path = SOUNDS / f"{name}.wav"
        if not path.is_file():
            continue
        with wave.open(str(path), "rb") as w:
            if w.getnframes() / w.getframerate() > max_s or w.getnchannels() != 1:
                continue
            chosen.append((name, w.readframes(w.getnframes()), w.getframerate(), text))
        if len(chosen) == count:
            break
    return chosen


def main() -> None:
    import jiwer

    from appliance.config import Stt
    from appliance.speech.stt import WhisperStt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--max-s", type=float, default=12.0, help="longest clip (s)")
    parser.add_argument("--windows", type=float, nargs="+", default=[30.0, 20.0, 15.0, 10.0])
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument("--models", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    chosen = clips(args.clips, args.max_s)
    refs = [" ".join(words(text)) for *_, text in chosen]
    results: dict[str, Any] = {}
    baseline: list[list[str]] | None = None
    for window in args.windows:
        cfg = Stt(args.model, "cpu", "int8", 1, 2, window_s=window)
        stt = WhisperStt.load(args.models / args.model, cfg)
        stt.warm_up()
        spent, hyps = [], []
        for _, pcm, rate, _ in chosen:
            started = time.perf_counter()
            hyps.append(words(stt.transcribe_pcm(pcm, rate).text))
            spent.append(time.perf_counter() - started)
        stt.close()
        if baseline is None:
            baseline = hyps
        ordered = sorted(spent)
        results[str(window)] = {
            "median_s": statistics.median(spent),
            "p90_s": ordered[round(0.9 * (len(ordered) - 1))],
            "wer": float(jiwer.wer(refs, [" ".join(h) or "-" for h in hyps])),
            "differs_from_first_window": sum(h != b for h, b in zip(hyps, baseline, strict=True)),
        }
        print(window, results[str(window)], file=sys.stderr)
    first = results[str(args.windows[0])]["median_s"]
    for item in results.values():
        item["speed_ratio_to_first"] = item["median_s"] / first
    result = {
        **run_info(),
        "model": args.model,
        "clips": len(chosen),
        "audio_s": sum(len(pcm) / 2 / rate for _, pcm, rate, _ in chosen),
        "windows": results,
    }
    path = write_result(args.out, "stt_window", result)
    print(json.dumps(result, indent=2))
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

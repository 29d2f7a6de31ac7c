"""STT word confidence: what `[stt] word_confidence` (faster-whisper word timestamps, for
the count of words under `low_word_probability`) costs per turn, through the appliance's
own WhisperStt with the configured CPU model and window.

Transcribes the same Asterisk prompts (bench/stt_window.py's clips: 8 kHz telephone
speech) alternately without and with word timestamps, `--rounds` times each, and reports
the median and p90 seconds per clip of both, the median per-clip extra time (absolute and
relative to the plain transcription), whether the transcripts differ, and the low-word
counts seen. JSON to bench/results/stt_words-<UTC time>.json.

    .venv/bin/python bench/stt_words.py --clips 40 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.report import run_info, write_result  # noqa: E402
from bench.stt_window import clips  # noqa: E402


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[round(0.9 * (len(ordered) - 1))]


def main() -> None:
    from appliance.config import Stt
    from appliance.speech.stt import WhisperStt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--max-s", type=float, default=12.0, help="longest clip (s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--below", type=float, default=0.5, help="low word probability")
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument("--models", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    chosen = clips(args.clips, args.max_s)
    configs = {
        on: Stt(
            args.model,
            "cpu",
            "int8",
            1,
            2,
            window_s=args.window,
            word_confidence=on,
            low_word_probability=args.below,
        )
        for on in (False, True)
    }
    models = {on: WhisperStt.load(args.models / args.model, cfg) for on, cfg in configs.items()}
    for stt in models.values():
        stt.warm_up()
    spent: dict[bool, list[list[float]]] = {False: [], True: []}
    texts: dict[bool, list[str]] = {False: [], True: []}
    low: list[int] = []
    for _, pcm, rate, _ in chosen:
        per: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for on, stt in models.items():  # alternately, so that load drifts hit both
                started = time.perf_counter()
                stt.transcribe_pcm(pcm, rate)
                per[on].append(time.perf_counter() - started)
        for on in (False, True):
            spent[on].append(per[on])
            texts[on].append(models[on].transcribe_pcm(pcm, rate).text)
        low.append(models[True].transcribe_pcm(pcm, rate).low_words or 0)
    for stt in models.values():
        stt.close()
    plain = [statistics.median(x) for x in spent[False]]
    words = [statistics.median(x) for x in spent[True]]
    extra = [w - p for w, p in zip(words, plain, strict=True)]
    result: dict[str, Any] = {
        **run_info(),
        "model": args.model,
        "window_s": args.window,
        "clips": len(chosen),
        "rounds": args.rounds,
        "audio_s": sum(len(pcm) / 2 / rate for _, pcm, rate, _ in chosen),
        "plain": {"median_s": statistics.median(plain), "p90_s": _p90(plain)},
        "word_timestamps": {"median_s": statistics.median(words), "p90_s": _p90(words)},
        "extra_median_s": statistics.median(extra),
        "extra_median_ratio": statistics.median([e / p for e, p in zip(extra, plain, strict=True)]),
        "extra_total_ratio": sum(words) / sum(plain) - 1,
        "transcripts_differ": sum(a != b for a, b in zip(texts[False], texts[True], strict=True)),
        "low_word_probability": args.below,
        "clips_with_low_words": sum(n > 0 for n in low),
        "low_words_total": sum(low),
    }
    path = write_result(args.out, "stt_words", result)
    print(json.dumps(result, indent=2))
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""VAD onset after silence: how late the end-of-turn detector hears speech that follows a
quiet stretch, with and without the restart of Silero's state (`vad.REFRESH_AFTER_S`).

Each Asterisk prompt (8 kHz recordings) goes through G.711 mu-law as on a call, then
through the appliance's `SileroTurnDetector` after `--silences` seconds of digital silence
or of low noise. Per setting: the time from the prompt's onset (first 20 ms frame above
-40 dBFS) to the end of the chunk whose window first reached the threshold (median, p90,
max; in audio time, so the machine does not matter), and the prompts the detector missed
(no utterance at all). JSON to bench/results/vad_onset-<UTC time>.json.

    .venv/bin/python bench/vad_onset.py --clips 30 --silences 1 10 30
"""

from __future__ import annotations

import argparse
import audioop  # Python 3.11: deprecated, present until 3.13
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.report import run_info, write_result  # noqa: E402
from bench.stt_window import clips  # noqa: E402

ONSET_DBFS = -40.0
LEVELS = {"digital silence": None, "noise -60 dBFS": -60.0}


def telephone(pcm: bytes, rate: int) -> bytes:
    """8 kHz mu-law and back, then 16 kHz: what the detector gets from a G.711 call."""
    from appliance.audio import PIPELINE_RATE, resample

    narrow = resample(pcm, rate, 8000)
    return resample(audioop.ulaw2lin(audioop.lin2ulaw(narrow, 2), 2), 8000, PIPELINE_RATE)


def quiet(seconds: float, dbfs: float | None, seed: int) -> bytes:
    samples = int(seconds * 16_000)
    if dbfs is None:
        return bytes(samples * 2)
    noise = np.random.default_rng(seed).standard_normal(samples) * 32768 * 10 ** (dbfs / 20)
    return noise.clip(-32768, 32767).astype("<i2").tobytes()


def onset_s(pcm: bytes) -> float:
    for i in range(0, len(pcm) - 639, 640):
        if audioop.rms(pcm[i : i + 640], 2) > 32768 * 10 ** (ONSET_DBFS / 20):
            return i / 2 / 16_000
    return 0.0


def first_voiced(lead: bytes, speech: bytes) -> tuple[float | None, bool]:
    """(s from the speech onset to the first voiced window's chunk end, or None; whether
    an utterance came out)."""
    from appliance.audio import PIPELINE_RATE, AudioChunk, frames
    from appliance.config import Vad
    from appliance.speech.vad import SileroTurnDetector

    detector = SileroTurnDetector(
        Vad(threshold=0.5, min_speech_ms=200, min_silence_ms=700, max_utterance_s=20.0)
    )
    onset = len(lead) / 2 / PIPELINE_RATE + onset_s(speech)
    voiced, heard = None, False
    tail = bytes(PIPELINE_RATE * 2 * 2)
    for i, frame in enumerate(frames(lead + speech + tail, PIPELINE_RATE)):
        heard |= detector.feed(AudioChunk(frame, PIPELINE_RATE, i * 0.02)) is not None
        end = (i + 1) * 0.02
        if voiced is None and end > onset and detector.probability >= 0.5:
            voiced = end - onset
    return voiced, heard


def measure(speech: list[bytes], seconds: float, dbfs: float | None) -> dict[str, Any]:
    found = [first_voiced(quiet(seconds, dbfs, i), s) for i, s in enumerate(speech)]
    late = sorted(v for v, _ in found if v is not None)
    return {
        "median_s": statistics.median(late) if late else None,
        "p90_s": late[round(0.9 * (len(late) - 1))] if late else None,
        "max_s": late[-1] if late else None,
        "never_voiced": sum(v is None for v, _ in found),
        "missed": sum(not heard for _, heard in found),
    }


def main() -> None:
    from appliance.speech import vad

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=30)
    parser.add_argument("--max-s", type=float, default=12.0, help="longest clip (s)")
    parser.add_argument("--silences", type=float, nargs="+", default=[1.0, 10.0, 30.0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    chosen = clips(args.clips, args.max_s)
    speech = [telephone(pcm, rate) for _, pcm, rate, _ in chosen]
    refresh = vad.REFRESH_WINDOWS
    results: dict[str, Any] = {}
    for restart in (False, True):
        vad.REFRESH_WINDOWS = refresh if restart else sys.maxsize
        for label, dbfs in LEVELS.items():
            for seconds in args.silences:
                key = f"restart {'on' if restart else 'off'}, {seconds:g} s of {label}"
                results[key] = measure(speech, seconds, dbfs)
                print(key, results[key], file=sys.stderr)
    vad.REFRESH_WINDOWS = refresh
    result = {**run_info(), "clips": [name for name, *_ in chosen], "settings": results}
    path = write_result(args.out, "vad_onset", result)
    print(json.dumps(result, indent=2))
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

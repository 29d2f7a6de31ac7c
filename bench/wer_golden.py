"""The synthetic golden set's WER at several line SNRs, and how long a run takes.

Speaks appliance/quality/wer_golden.toml with the local Piper voice (three voicings),
through the telephone channel (8 kHz, 300-3400 Hz, white noise at each `--snr`, mu-law)
into WhisperStt loaded as the agent loads it (`[stt]` of the defaults or `--config`, the
clinic name as hotword), exactly as `appliance quality wer-golden` does (that command uses
20 dB; the voice is seeded, so a repeated SNR gives the same figures). Reports per SNR:
WER with its 95 % bootstrap interval, the entity error rate, and seconds for the run and
per line. Nothing is stored. JSON to bench/results/wer_golden-<UTC time>.json.

    .venv/bin/python bench/wer_golden.py --snr 40 20 10
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.report import run_info, write_result  # noqa: E402


def main() -> None:
    from appliance.artifacts.model_files import model_dir
    from appliance.cli.wer import clinic_names
    from appliance.config import load_settings
    from appliance.quality.wer_golden import Channel, PiperSpeaker, load_lines, run_golden
    from appliance.speech.stt import WhisperStt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snr", type=float, nargs="+", default=[40.0, 20.0, 10.0])
    parser.add_argument("--config", type=Path, help="appliance TOML layered over the defaults")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    settings = load_settings(args.config)
    models = settings.models_dir
    voice_dir = model_dir(models, settings.tts.voice)
    started = time.perf_counter()
    stt = WhisperStt.load(model_dir(models, settings.stt.model), settings.stt, settings.clinic.name)
    stt.warm_up()
    loaded_s = time.perf_counter() - started
    lines, set_hash = load_lines()
    runs: list[dict[str, Any]] = []
    for snr in args.snr:
        # loaded (and seeded) again per run: each speaks what `wer-golden` would speak
        speaker = PiperSpeaker.load(voice_dir, settings.tts.voice)
        run = run_golden(lines, speaker, stt, Channel(snr_db=snr), clinic_names(settings))
        seconds = run.config["seconds"]
        runs.append(
            {
                "snr_db": snr,
                **run.summary.as_dict(),
                "seconds": seconds,
                "seconds_per_line": round(seconds / len(lines), 3),
            }
        )
        s = run.summary
        print(
            f"SNR {snr:>4.0f} dB: WER {s.wer:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]  "
            f"entity errors {s.entity_error_rate:.3f}  {seconds:.1f} s"
        )
    stt.close()
    result = {
        **run_info(),
        "set": {"file": "appliance/quality/wer_golden.toml", "hash": set_hash, "lines": len(lines)},
        "stt": {
            "model": settings.stt.model,
            "device": stt.device,
            "compute_type": settings.stt.compute_type,
            "threads": settings.stt.threads,
            "beam_size": settings.stt.beam_size,
            "window_s": settings.stt.window_s,
        },
        "tts_voice": settings.tts.voice,
        "models_loaded_s": round(loaded_s, 2),
        "runs": runs,
    }
    print(write_result(args.out, "wer_golden", result))


if __name__ == "__main__":
    main()

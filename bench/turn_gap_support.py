"""Helpers of bench/turn_gap.py: caller utterances, summaries, the plot.

The default script is the clinic dialogues (turn_gap_dialogues.py). `--script questions`
plays single utterances of two kinds, neither in the agent's own voice setting:
- Piper-synthesized questions in a different voice setting (slower, more varied
  prosody, quieter than the agent's default synthesis);
- real recorded telephone speech: Asterisk prompts (8 kHz, Debian
  asterisk-core-sounds-en-wav).
"""

from __future__ import annotations

import statistics
import wave
from pathlib import Path
from typing import Any

PHRASES = (
    "What are your opening hours?",
    "Is there parking near the clinic?",
    "Can I book an appointment for next week?",
    "Do you see children as well?",
)
SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")  # asterisk-core-sounds-en-wav
ASTERISK = (  # none of them says goodbye (that would end the call)
    "vm-nobodyavail",
    "queue-callswaiting",
    "pls-hold-while-try",
    "dir-welcome",
    "please-try-again",
    "conf-getpin",
)
PAUSED = (  # a complete first sentence, a pause, then more of the same turn
    ("I'd like to book an appointment.", "With Doctor Nakamura, next week if possible."),
    ("I have a question about my visit.", "It was last Tuesday afternoon."),
    ("Can I change my appointment?", "The one on Friday morning."),
    ("Do you take Blue Cross?", "I have the PPO plan from work."),
)
CALLER_VOICE = {"length_scale": 1.15, "noise_scale": 0.8, "noise_w_scale": 1.0, "volume": 0.8}


def caller_utterances(models: Path, voice: str, out: Path) -> list[tuple[str, Path]]:
    """WAV files for the caller: Piper phrases in CALLER_VOICE, then Asterisk prompts."""
    from piper import PiperVoice, SynthesisConfig

    out.mkdir(parents=True, exist_ok=True)
    piper = PiperVoice.load(models / voice / f"{voice}.onnx")
    config = SynthesisConfig(**CALLER_VOICE)  # type: ignore[arg-type]
    found: list[tuple[str, Path]] = []
    for i, text in enumerate(PHRASES):
        path = out / f"piper-{i}.wav"
        with wave.open(str(path), "wb") as w:
            piper.synthesize_wav(text, w, syn_config=config)
        found.append(("piper", path))
    for name in ASTERISK:
        path = SOUNDS / f"{name}.wav"
        if path.is_file():
            found.append(("asterisk", path))
    return found


def paused_utterances(models: Path, voice: str, out: Path, pause_ms: int) -> list[tuple[str, Path]]:
    """WAV files of PAUSED: each pair as one utterance with `pause_ms` of silence inside
    (what a semantic end of turn may cut: the cost side of `[vad] early_end_of_turn`)."""
    from piper import PiperVoice, SynthesisConfig

    out.mkdir(parents=True, exist_ok=True)
    piper = PiperVoice.load(models / voice / f"{voice}.onnx")
    config = SynthesisConfig(**CALLER_VOICE)  # type: ignore[arg-type]
    found: list[tuple[str, Path]] = []
    for i, pair in enumerate(PAUSED):
        pcm, rate = b"", 0
        for k, text in enumerate(pair):
            part = out / f"paused-{i}-{k}.wav"
            with wave.open(str(part), "wb") as w:
                piper.synthesize_wav(text, w, syn_config=config)
            with wave.open(str(part), "rb") as r:
                rate = r.getframerate()
                voiced = trimmed(r.readframes(r.getnframes()))
                pcm += (b"" if k == 0 else bytes(2 * (rate * pause_ms // 1000))) + voiced
        path = out / f"paused-{i}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm)
        found.append(("paused", path))
    return found


def trimmed(pcm: bytes, level: int = 200) -> bytes:
    """`pcm` (s16le) without the near-silence Piper puts before and after a sentence, so
    that the pause inside a PAUSED utterance is `pause_ms`, not that plus the padding."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(x.astype(np.int32)) > level)[0]
    return pcm if loud.size == 0 else x[loud[0] : loud[-1] + 1].tobytes()


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


def plot(result: dict[str, Any], path: Path) -> bool:
    """Turn-gap distributions side by side and the median stage breakdown; False without
    matplotlib (the `bench` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    runs = result["pipelines"]
    names = list(runs)
    boxes = {f"{n}\nat the caller": runs[n]["caller_gaps_s"] for n in names}
    boxes["appliance\nreply's own (store)"] = runs["appliance"].get("reply_audio_out_values_s", [])
    left.boxplot(list(boxes.values()), tick_labels=list(boxes), whis=(0, 100))
    for i, values in enumerate(boxes.values(), start=1):
        left.scatter([i] * len(values), values, s=12, alpha=0.6)
    left.set_ylabel("s after the end of the caller's speech")
    left.set_title("first agent audio heard; the reply's own first audio")
    left.grid(axis="y", alpha=0.3)
    for i, name in enumerate(names):
        stages = runs[name]["stages_s"]
        previous = 0.0
        for stage, stats in stages.items():
            p50 = stats.get("p50")
            if not isinstance(p50, float) or p50 < previous or stage == "filler":
                continue
            right.barh(i, p50 - previous, left=previous, edgecolor="white")
            right.text((previous + p50) / 2, i, stage.replace("_", "\n"), ha="center",
                       va="center", fontsize=6)  # fmt: skip
            previous = p50
    right.set_yticks(range(len(names)), names)
    right.set_xlabel("s after the end of caller speech (median of each stage)")
    right.set_title("per-stage breakdown (p50)")
    fig.suptitle(f"turn gap, {result['host']['cpus']} CPUs, {result['when']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True

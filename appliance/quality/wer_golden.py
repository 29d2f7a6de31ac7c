"""The synthetic golden set: caller lines spoken by the local TTS, through a telephone
channel, transcribed by the product's STT, scored for WER and entity errors.

Without reviewers' corrections the appliance still has a WER trend: `run_golden` speaks
each line of appliance/quality/wer_golden.toml with the local Piper voice, passes it
through `telephone()` and transcribes it with WhisperStt loaded as the agent loads it
(`[stt]` model, device, compute type, beam, window; the clinic's name and `[stt]
vocabulary` as hotwords). The result is labelled synthetic: it measures the STT on clean
synthetic speech of one voice, a floor, not the WER of real callers.

What varies per line (only one Piper voice ships, so "several voices" are three
voicings of it, line i taking VOICINGS[i % 3]): Piper's length_scale (speaking rate:
0.85 fast, 1.0, 1.2 slow), noise_scale (phoneme variability) and noise_w_scale (timing
variability). Piper's sampling is seeded (PiperSpeaker.load: onnxruntime's seed, read when
the voice's session is made) and so is the channel, so a run of the same set with the same
models repeats exactly (unseeded, runs differed by up to 3.6 points: bench/README.md).
The channel: resampled to 8 kHz (soxr), band-limited to 300-3400 Hz, white noise added at
SNR_DB (20 dB of the line's speech power, band-limited like the speech), then a G.711
mu-law round trip (the codec the agent decodes), then handed to the STT at 8 kHz as the
agent's media would be.
"""

from __future__ import annotations

import hashlib
import logging
import time
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from appliance.audio import from_float32, resample, to_float32, ulaw_decode, ulaw_encode
from appliance.domain import Transcript
from appliance.errors import TextToSpeechError
from appliance.quality.wer import LineScore, WerSummary, score_line, summarise

GOLDEN_SET = Path(__file__).with_name("wer_golden.toml")
PHONE_RATE = 8000
SNR_DB = 20.0
BAND_HZ = (300.0, 3400.0)
PAD_S = 0.3  # s of line silence before and after each line (the VAD keeps some)
SEED = 0  # Piper's sampling (onnxruntime) and the channel's noise


@dataclass(frozen=True, slots=True)
class Voicing:
    """Piper's synthesis parameters for one line."""

    length_scale: float
    noise_scale: float
    noise_w_scale: float


VOICINGS = (
    Voicing(1.0, 0.667, 0.8),  # Piper's defaults
    Voicing(0.85, 0.5, 0.6),  # faster, flatter
    Voicing(1.2, 0.8, 1.0),  # slower, more varied
)


@dataclass(frozen=True, slots=True)
class Channel:
    rate: int = PHONE_RATE
    snr_db: float = SNR_DB
    band_hz: tuple[float, float] = BAND_HZ
    seed: int = SEED


class Speaker(Protocol):
    """Speaks a line: s16le mono PCM and its rate."""

    def speak(self, text: str, voicing: Voicing) -> tuple[bytes, int]: ...


class Listener(Protocol):
    """appliance.speech.stt.WhisperStt's blocking path."""

    def transcribe_pcm(self, pcm: bytes, rate: int) -> Transcript: ...


@dataclass
class GoldenRun:
    summary: WerSummary
    lines: list[LineScore]
    config: dict[str, Any]  # stored with the run: no text
    texts: list[str] = field(default_factory=list)  # what was said (synthetic, not PHI)
    hypotheses: list[str] = field(default_factory=list)  # what the STT heard


def load_lines(path: Path = GOLDEN_SET) -> tuple[list[str], str]:
    """The set's lines and a short hash of them (which version of the set was run)."""
    data = tomllib.loads(path.read_text("utf-8"))
    lines = [str(line) for line in data["lines"]]
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:12]
    return lines, digest


def _band_limit(x: npt.NDArray[np.float64], rate: int, band: tuple[float, float]) -> Any:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
    spectrum[(freqs < band[0]) | (freqs > band[1])] = 0
    return np.fft.irfft(spectrum, n=x.size)


def telephone(pcm: bytes, rate: int, channel: Channel, rng: np.random.Generator) -> bytes:
    """`pcm` as a caller's phone line delivers it: 8 kHz, band-limited, noisy, mu-law."""
    narrow = to_float32(resample(pcm, rate, channel.rate)).astype(np.float64)
    if narrow.size == 0:
        return b""
    speech = _band_limit(narrow, channel.rate, channel.band_hz)
    power = float(np.mean(np.square(speech)))
    noise = _band_limit(rng.standard_normal(speech.size), channel.rate, channel.band_hz)
    noise_power = float(np.mean(np.square(noise))) or 1.0
    noise *= np.sqrt(power / 10 ** (channel.snr_db / 10) / noise_power)
    pad = np.zeros(int(PAD_S * channel.rate))
    line = np.concatenate([pad, speech + noise, pad]).astype(np.float32)
    return ulaw_decode(ulaw_encode(from_float32(line)))


def run_golden(
    lines: Sequence[str],
    speaker: Speaker,
    listener: Listener,
    channel: Channel = Channel(),
    names: frozenset[str] = frozenset(),
) -> GoldenRun:
    """Speak, transmit, transcribe and score each line; the config says what varied."""
    rng = np.random.default_rng(channel.seed)
    scores: list[LineScore] = []
    heard: list[str] = []
    started = time.monotonic()
    for i, text in enumerate(lines):
        pcm, rate = speaker.speak(text, VOICINGS[i % len(VOICINGS)])
        line = telephone(pcm, rate, channel, rng)
        hypothesis = listener.transcribe_pcm(line, channel.rate).text if line else ""
        heard.append(hypothesis)
        scores.append(score_line(text, hypothesis, names))
    config: dict[str, Any] = {
        "label": "synthetic",
        "lines": len(lines),
        "voicings": [asdict(v) for v in VOICINGS],
        "channel": {**asdict(channel), "codec": "pcmu"},
        "seconds": round(time.monotonic() - started, 2),
    }
    return GoldenRun(summarise(scores), scores, config, list(lines), heard)


class PiperSpeaker:
    """The local Piper voice with per-line synthesis parameters (a piper.PiperVoice)."""

    def __init__(self, voice: Any) -> None:
        self._voice = voice

    @classmethod
    def load(cls, voice_dir: Path, voice: str, seed: int | None = SEED) -> PiperSpeaker:
        """Load the voice; with `seed`, onnxruntime's random generator is seeded first
        (process-wide: it is read when the session is made), so that Piper's sampling,
        and a run, repeat exactly."""
        import onnxruntime
        from piper import PiperVoice

        if seed is not None:
            onnxruntime.set_seed(seed)
        onnx, config = voice_dir / f"{voice}.onnx", voice_dir / f"{voice}.onnx.json"
        if not onnx.is_file() or not config.is_file():
            raise TextToSpeechError("tts-model-missing", f"voice {voice} not in {voice_dir}")
        piper_log = logging.getLogger("piper")  # it logs the text it speaks at DEBUG
        if piper_log.getEffectiveLevel() < logging.INFO:
            piper_log.setLevel(logging.INFO)
        return cls(PiperVoice.load(onnx, config_path=config))

    def speak(self, text: str, voicing: Voicing) -> tuple[bytes, int]:
        from piper import SynthesisConfig

        syn = SynthesisConfig(
            length_scale=voicing.length_scale,
            noise_scale=voicing.noise_scale,
            noise_w_scale=voicing.noise_w_scale,
        )
        parts, rate = [], 22050
        for chunk in self._voice.synthesize(text, syn_config=syn):
            parts.append(chunk.audio_int16_bytes)
            rate = int(chunk.sample_rate)
        return b"".join(parts), rate

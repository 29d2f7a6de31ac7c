"""The golden set's telephone channel (rate, band, SNR, mu-law) and the run's wiring,
with a fake voice and a fake STT at the Speaker and Listener seams."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.audio import from_float32, to_float32
from appliance.domain import Transcript
from appliance.quality.wer_golden import (
    GOLDEN_SET,
    PAD_S,
    VOICINGS,
    Channel,
    Voicing,
    load_lines,
    run_golden,
    telephone,
)

pytestmark = pytest.mark.unit
RATE = 22050


def tone(hz: float, seconds: float = 1.0, level: float = 0.3) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return from_float32((level * np.sin(2 * np.pi * hz * t)).astype(np.float32))


def power_at(x: np.ndarray, rate: int, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
    return float(spectrum[(freqs >= low) & (freqs <= high)].sum())


def test_the_line_is_8_khz_padded_and_band_limited() -> None:
    out = to_float32(telephone(tone(1000) + tone(6000), RATE, Channel(snr_db=60), rng()))
    assert out.size == 2 * 8000 + 2 * int(PAD_S * 8000)
    assert power_at(out, 8000, 900, 1100) > 100 * power_at(out, 8000, 3500, 4000)
    low = to_float32(telephone(tone(100), RATE, Channel(snr_db=60), rng()))
    assert np.sqrt(np.mean(low**2)) < 0.01  # 100 Hz hum does not pass 300 Hz


@pytest.mark.parametrize("snr_db", [10.0, 20.0, 30.0])
def test_noise_is_added_at_the_chosen_snr(snr_db: float) -> None:
    speech = tone(1000)
    clean = to_float32(telephone(speech, RATE, Channel(snr_db=90), rng()))
    noisy = to_float32(telephone(speech, RATE, Channel(snr_db=snr_db), rng()))
    noise = noisy - clean
    body = slice(int(PAD_S * 8000), -int(PAD_S * 8000))
    measured = 10 * np.log10(np.mean(clean[body] ** 2) / np.mean(noise[body] ** 2))
    assert measured == pytest.approx(snr_db, abs=1.0)  # mu-law adds its own little noise


def test_the_channel_is_repeatable_for_a_seed() -> None:
    speech = tone(700)
    assert telephone(speech, RATE, Channel(), rng()) == telephone(speech, RATE, Channel(), rng())
    assert telephone(speech, RATE, Channel(), rng()) != telephone(speech, RATE, Channel(), rng(1))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


class FakeSpeaker:
    def __init__(self) -> None:
        self.voicings: list[Voicing] = []

    def speak(self, text: str, voicing: Voicing) -> tuple[bytes, int]:
        self.voicings.append(voicing)
        return tone(500, seconds=0.5), RATE


class FakeListener:
    """Hears each line from a script, and checks it got a phone line."""

    def __init__(self, heard: list[str]) -> None:
        self.heard = heard
        self.rates: list[int] = []

    def transcribe_pcm(self, pcm: bytes, rate: int) -> Transcript:
        self.rates.append(rate)
        return Transcript(self.heard.pop(0), "en", -0.2, 0.01, len(pcm) / 2 / rate)


def test_a_run_scores_each_line_and_says_what_varied() -> None:
    said = ["Can I see Doctor Lee on Friday?", "Yes, that's right.", "Thank you, goodbye."]
    speaker = FakeSpeaker()
    listener = FakeListener(["Can I see Dr. Leigh on Friday?", "yes that's right", ""])
    run = run_golden(said, speaker, listener)
    assert listener.rates == [8000, 8000, 8000]
    assert speaker.voicings == list(VOICINGS)
    assert [line.errors for line in run.lines] == [1, 0, 3]
    assert run.summary.wer == pytest.approx(4 / 13)
    assert run.summary.entities == 2 and run.summary.entity_errors == 1  # lee; friday
    assert run.config["label"] == "synthetic" and run.config["channel"]["snr_db"] == 20.0
    assert run.config["channel"]["codec"] == "pcmu" and len(run.config["voicings"]) == 3
    assert run.texts == said and run.hypotheses[0] == "Can I see Dr. Leigh on Friday?"


def test_the_shipped_set_has_40_distinct_lines_with_entities() -> None:
    lines, digest = load_lines(GOLDEN_SET)
    assert len(lines) == 40 == len(set(lines))
    assert len(digest) == 12 and load_lines(GOLDEN_SET)[1] == digest
    assert len(VOICINGS) == 3 and len({v.length_scale for v in VOICINGS}) == 3

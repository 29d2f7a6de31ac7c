"""Pure audio conversions: G.711 against the reference tables, resampling, framing."""

from __future__ import annotations

import numpy as np
import pytest

from appliance import audio
from appliance.errors import AudioError

pytestmark = pytest.mark.unit

ALL_SAMPLES = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return audio.from_float32((amp * np.sin(2 * np.pi * freq * t)).astype(np.float32))


@pytest.mark.parametrize(
    ("encode", "decode"),
    [(audio.ulaw_encode, audio.ulaw_decode), (audio.alaw_encode, audio.alaw_decode)],
)
def test_g711_codes_round_trip_exactly(encode, decode) -> None:
    # every code decodes to a value that encodes back to the same code
    # (mu-law has two zero codes, 0x7F and 0xFF, that both decode to 0)
    decoded = decode(ALL_CODES)
    again = encode(decoded)
    diff = [c for c, d in zip(ALL_CODES, again, strict=True) if c != d]
    assert diff in ([], [0x7F])


@pytest.mark.parametrize(
    ("encode", "decode", "max_rel"),
    [(audio.ulaw_encode, audio.ulaw_decode, 0.04), (audio.alaw_encode, audio.alaw_decode, 0.04)],
)
def test_g711_round_trip_error_is_bounded(encode, decode, max_rel) -> None:
    x = np.frombuffer(ALL_SAMPLES, "<i2").astype(np.int64)
    y = np.frombuffer(decode(encode(ALL_SAMPLES)), "<i2").astype(np.int64)
    big = np.abs(x) > 1024
    rel = np.abs(x[big] - y[big]) / np.abs(x[big])
    assert rel.max() <= max_rel
    assert np.abs(x[~big] - y[~big]).max() <= 64


def test_ulaw_known_values() -> None:
    # ITU-T G.711: 0 -> 0xFF, max positive -> 0x80, max negative -> 0x00
    pcm = np.array([0, 32767, -32768], dtype="<i2").tobytes()
    assert audio.ulaw_encode(pcm) == bytes([0xFF, 0x80, 0x00])
    # A-law: 0 -> 0xD5, max positive -> 0xAA, max negative -> 0x2A
    assert audio.alaw_encode(pcm) == bytes([0xD5, 0xAA, 0x2A])


def test_g711_keeps_a_tone() -> None:
    pcm = sine(440, 8000, 0.5)
    for enc, dec in (
        (audio.ulaw_encode, audio.ulaw_decode),
        (audio.alaw_encode, audio.alaw_decode),
    ):
        out = dec(enc(pcm))
        assert len(out) == len(pcm)
        snr = 10 * np.log10(
            np.sum(audio.to_float32(pcm) ** 2)
            / np.sum((audio.to_float32(pcm) - audio.to_float32(out)) ** 2)
        )
        assert snr > 30


@pytest.mark.parametrize(
    ("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 16000), (16000, 16000)]
)
def test_resample_lengths_and_pitch(src: int, dst: int) -> None:
    pcm = sine(440, src, 1.0)
    out = audio.resample(pcm, src, dst)
    assert abs(len(out) // 2 - dst) <= 2
    x = audio.to_float32(out)
    spectrum = np.abs(np.fft.rfft(x))
    peak_hz = np.argmax(spectrum) * dst / len(x)
    assert abs(peak_hz - 440) < 3


def test_resample_rejects_bad_rate() -> None:
    with pytest.raises(AudioError) as err:
        audio.resample(b"\x00\x00", 0, 16000)
    assert err.value.code == "audio-bad-rate"


def test_odd_length_pcm_is_a_coded_error() -> None:
    with pytest.raises(AudioError) as err:
        audio.to_int16(b"\x00\x00\x00")
    assert err.value.code == "audio-odd-length"


def test_frames_pad_the_last_one() -> None:
    pcm = bytes(640 * 2 + 100)
    parts = audio.frames(pcm, 16000)
    assert [len(p) for p in parts] == [640, 640, 640]
    assert audio.frames(pcm, 16000, pad=False) == parts[:2]


def test_wav_round_trip_and_bad_file() -> None:
    chunk = audio.AudioChunk(sine(300, 8000, 0.1), 8000)
    back = audio.read_wav(audio.write_wav(chunk))
    assert back.rate == 8000 and back.pcm == chunk.pcm
    with pytest.raises(AudioError) as err:
        audio.read_wav(b"RIFF\x00\x00not a wav")
    assert err.value.code == "audio-bad-wav"


def test_levels() -> None:
    assert audio.rms_dbfs(bytes(640)) == float("-inf")
    assert -4.0 < audio.rms_dbfs(sine(1000, 16000, 0.1, amp=1.0)) < -2.0

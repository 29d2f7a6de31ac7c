"""Audio formats and pure conversion functions (G.711, resampling, framing).

All PCM inside the appliance is signed 16-bit little-endian mono.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soxr

from appliance.errors import AudioError

PIPELINE_RATE = 16_000  # Hz: what VAD and STT consume and the media port exchanges
FRAME_MS = 20  # ms per media frame
SAMPLE_WIDTH = 2  # bytes per sample (s16le)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    rate: int  # Hz
    width: int = SAMPLE_WIDTH  # bytes per sample
    channels: int = 1

    def frame_bytes(self, ms: int = FRAME_MS) -> int:
        return self.rate * ms // 1000 * self.width * self.channels


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A piece of s16le mono PCM."""

    pcm: bytes
    rate: int  # Hz
    timestamp: float = 0.0  # s, monotonic clock of the producer

    @property
    def samples(self) -> int:
        return len(self.pcm) // SAMPLE_WIDTH

    @property
    def duration(self) -> float:  # s
        return self.samples / self.rate


def to_int16(pcm: bytes) -> npt.NDArray[np.int16]:
    if len(pcm) % SAMPLE_WIDTH:
        raise AudioError("audio-odd-length", "PCM length is not a whole number of samples")
    return np.frombuffer(pcm, dtype="<i2")


def to_float32(pcm: bytes) -> npt.NDArray[np.float32]:
    return to_int16(pcm).astype(np.float32) / 32768.0


def from_float32(samples: npt.NDArray[np.float32]) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0) * 32767.0
    return clipped.astype("<i2").tobytes()


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Resample s16 mono PCM with soxr (high quality)."""
    if src_rate <= 0 or dst_rate <= 0:
        raise AudioError("audio-bad-rate", f"invalid sample rate {src_rate}->{dst_rate}")
    if src_rate == dst_rate or not pcm:
        return pcm
    out = soxr.resample(to_int16(pcm), src_rate, dst_rate, quality="HQ")
    return np.asarray(out, dtype="<i2").tobytes()


def frames(pcm: bytes, rate: int, ms: int = FRAME_MS, pad: bool = True) -> list[bytes]:
    """Split PCM into frames of `ms`; the last one is padded with silence if `pad`."""
    size = rate * ms // 1000 * SAMPLE_WIDTH
    out = [pcm[i : i + size] for i in range(0, len(pcm), size)]
    if out and len(out[-1]) < size:
        if pad:
            out[-1] = out[-1] + bytes(size - len(out[-1]))
        else:
            out.pop()
    return out


def rms_dbfs(pcm: bytes) -> float:
    """Level of a PCM buffer in dBFS (-inf for digital silence)."""
    x = to_float32(pcm)
    if x.size == 0:
        return float("-inf")
    power = float(np.mean(np.square(x, dtype=np.float64)))
    return float("-inf") if power <= 0 else 10.0 * float(np.log10(power))


# --- G.711 (ITU-T) -----------------------------------------------------------

_ULAW_BIAS = 0x84
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def ulaw_encode(pcm: bytes) -> bytes:
    """Linear s16 -> G.711 mu-law (same rounding as the ITU/CCITT reference code)."""
    x = to_int16(pcm).astype(np.int32) >> 2  # 14-bit
    mask = np.where(x < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(x), 8159) + 33
    seg = np.searchsorted(_ULAW_SEG_END, mag)
    code = (np.minimum(seg, 7) << 4) | ((mag >> (seg + 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code) ^ mask
    return bytes(code.astype(np.uint8).tobytes())


def ulaw_decode(data: bytes) -> bytes:
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = ((mantissa << 3) + _ULAW_BIAS) << exponent
    x = np.where(sign != 0, _ULAW_BIAS - mag, mag - _ULAW_BIAS)
    return x.astype("<i2").tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    x = to_int16(pcm).astype(np.int32) >> 3  # 13-bit
    sign = np.where(x >= 0, 0x80, 0)
    mag = np.where(x >= 0, x, -x - 1)
    mag = np.minimum(mag, 0x0FFF)
    exponent = np.where(mag < 32, 0, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4)
    exponent = np.clip(exponent, 0, 7)
    mantissa = np.where(exponent == 0, mag >> 1, mag >> exponent) & 0x0F
    code = (sign | (exponent << 4) | mantissa) ^ 0x55
    return bytes(code.astype(np.uint8).tobytes())


def alaw_decode(data: bytes) -> bytes:
    a = np.frombuffer(data, dtype=np.uint8).astype(np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    mag = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1))
    x = np.where(sign != 0, mag, -mag)
    return x.astype("<i2").tobytes()


# --- WAV files -----------------------------------------------------------------


def read_wav(data: bytes) -> AudioChunk:
    """Parse a PCM16 WAV (mono or stereo -> mono). Raises AudioError on bad input."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioError("audio-bad-wav", "not a readable PCM WAV file") from exc
    if width != SAMPLE_WIDTH:
        raise AudioError("audio-bad-wav", f"unsupported sample width {width * 8} bit")
    if channels > 1:
        x = to_int16(raw).reshape(-1, channels).mean(axis=1)
        raw = x.astype("<i2").tobytes()
    return AudioChunk(pcm=raw, rate=rate)


def write_wav(chunk: AudioChunk) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(chunk.rate)
        w.writeframes(chunk.pcm)
    return buf.getvalue()

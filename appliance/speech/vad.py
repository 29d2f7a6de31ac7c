"""End of turn from Silero VAD (the ONNX model that faster-whisper ships), streaming.

One onnxruntime session is shared by all calls; each detector keeps its own recurrent
state and 64-sample context, and runs the model on 512-sample (32 ms) windows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime

from appliance.audio import PIPELINE_RATE, AudioChunk, to_float32
from appliance.config import Vad
from appliance.domain import Utterance
from appliance.errors import VadError

WINDOW = 512  # samples per model step at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the model sees
PRE_ROLL_S = 0.2  # s of audio kept before the detected start of speech
HYSTERESIS = 0.15  # speech ends below threshold - HYSTERESIS

_session: onnxruntime.InferenceSession | None = None
_session_lock = threading.Lock()


def model_path() -> Path:
    return Path(str(resources.files("faster_whisper").joinpath("assets/silero_vad_v6.onnx")))


def shared_session() -> onnxruntime.InferenceSession:
    global _session
    with _session_lock:
        if _session is None:
            opts = onnxruntime.SessionOptions()
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 4
            try:
                _session = onnxruntime.InferenceSession(
                    str(model_path()), providers=["CPUExecutionProvider"], sess_options=opts
                )
            except Exception as exc:
                raise VadError("vad-load-failed", type(exc).__name__) from exc
        return _session


class SileroTurnDetector:
    """Implements appliance.ports.EndOfTurnDetector on 16 kHz 20 ms chunks."""

    def __init__(
        self, vad: Vad, rate: int = PIPELINE_RATE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate != PIPELINE_RATE:
            raise VadError("vad-bad-rate", f"the detector needs {PIPELINE_RATE} Hz, got {rate}")
        self._cfg = vad
        self._clock = clock
        self._session = shared_session()
        self.probability = 0.0
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, CONTEXT), dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        keep_s = PRE_ROLL_S + self._cfg.min_speech_ms / 1000 + WINDOW / PIPELINE_RATE
        self._pre_roll: deque[AudioChunk] = deque(maxlen=int(keep_s / 0.02) + 1)
        self._speech: list[AudioChunk] = []
        self.speech_active = False
        self._voiced_s = 0.0  # s of voiced windows in a row (before start)
        self._silence_s = 0.0  # s below the stop threshold since the last voiced window
        self._start = 0.0
        self._last_voiced = 0.0

    def _step(self, window: npt.NDArray[np.float32]) -> float:
        frame = np.concatenate([self._context, window[None, :]], axis=1)
        try:
            out, self._h, self._c = self._session.run(
                None, {"input": frame, "h": self._h, "c": self._c}
            )
        except Exception as exc:
            raise VadError("vad-failed", type(exc).__name__) from exc
        self._context = window[None, -CONTEXT:]
        return float(np.asarray(out).ravel()[0])

    def feed(self, chunk: AudioChunk) -> Utterance | None:
        if chunk.rate != PIPELINE_RATE:
            raise VadError("vad-bad-rate", f"chunk at {chunk.rate} Hz")
        self._pending = np.concatenate([self._pending, to_float32(chunk.pcm)])
        while self._pending.size >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            self.probability = self._step(window)
            self._update(self.probability, chunk.timestamp)
        if self.speech_active:
            self._speech.append(chunk)
        else:
            self._pre_roll.append(chunk)
        return self._maybe_end(chunk.timestamp)

    def _update(self, prob: float, now: float) -> None:
        step = WINDOW / PIPELINE_RATE
        cfg = self._cfg
        if prob >= cfg.threshold:
            self._voiced_s += step
            self._silence_s = 0.0
            self._last_voiced = now
            if not self.speech_active and self._voiced_s * 1000 >= cfg.min_speech_ms:
                self.speech_active = True
                self._start = now - self._voiced_s - PRE_ROLL_S
                self._speech = list(self._pre_roll)
        elif prob < cfg.threshold - HYSTERESIS:
            self._voiced_s = 0.0
            self._silence_s += step
        else:
            self._silence_s += step if self.speech_active else 0.0

    def _maybe_end(self, now: float) -> Utterance | None:
        if not self.speech_active:
            return None
        cfg = self._cfg
        duration = sum(c.duration for c in self._speech)
        if self._silence_s * 1000 < cfg.min_silence_ms and duration < cfg.max_utterance_s:
            return None
        pcm = b"".join(c.pcm for c in self._speech)
        utterance = Utterance(
            audio=AudioChunk(pcm, PIPELINE_RATE, self._start),
            speech_start=self._start,
            speech_end=self._last_voiced,
            detected_at=self._clock(),
        )
        self.reset()
        return utterance

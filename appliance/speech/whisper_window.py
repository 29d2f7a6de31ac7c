"""A shorter Whisper encoder window for short utterances: `[stt] window_s` (opt-in).

Whisper's encoder always reads 30 s of audio (3000 mel frames): a 2 s question is padded
with 28 s of silence, and on a CPU that padding is most of the transcription time (tiny.en
int8 on 2 cores: 0.54 s of a 0.67 s transcription). CTranslate2 accepts a shorter input,
so with `window_s` < 30 the encoder sees max(window_s, the utterance + 1 s) instead
(whisper.cpp calls this `audio_ctx`). The model was trained on 30 s windows: shorter ones
cost some accuracy (and below ~10 s it starts repeating itself), so the default stays 30
and `bench/stt_window.py` measures both sides on the host before anyone turns it on.
"""

from __future__ import annotations

import math
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

FULL_FRAMES = 3000  # Whisper's 30 s window, 100 mel frames per second
MARGIN_S = 1.0  # s of padding kept after the utterance
MIN_WINDOW_S = 10.0  # shorter windows make tiny/base repeat the transcript


def window_frames(duration_s: float, window_s: float) -> int:
    """Encoder frames for an utterance of `duration_s`: at least `window_s` and the audio
    plus MARGIN_S, at most the full 30 s."""
    seconds = max(window_s, duration_s + MARGIN_S)
    return min(FULL_FRAMES, math.ceil(seconds * 100))


class WindowedWhisperModel(WhisperModel):  # type: ignore[misc]
    """faster-whisper's WhisperModel whose encoder reads `window` frames (set per call,
    under the caller's lock); FULL_FRAMES: exactly the stock model."""

    window = FULL_FRAMES

    def encode(self, features: np.ndarray[Any, Any]) -> ctranslate2.StorageView:
        if features.shape[-1] > self.window:
            features = np.ascontiguousarray(features[..., : self.window])
        return super().encode(features)

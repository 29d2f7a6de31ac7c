"""End of turn from Silero VAD (the ONNX model that faster-whisper ships), streaming.

One onnxruntime session (1 thread) is shared by every detector; each detector keeps its
own recurrent state (h, c) and the 64-sample context, and runs the model on each
512-sample (32 ms) window as soon as the 20 ms chunks have filled it. Fed window by
window this way, the model gives exactly the probabilities of faster-whisper's batch
use over the same audio, until a long quiet stretch restarts its state (SileroStream).

Times come from the chunks: a chunk's `timestamp` is taken as the time of its first
sample, and positions inside the stream are counted in samples from there.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime
from faster_whisper.utils import get_assets_path

from appliance.audio import PIPELINE_RATE, SAMPLE_WIDTH, AudioChunk, to_float32
from appliance.config import Vad
from appliance.domain import Utterance
from appliance.errors import VadError

MODEL_FILE = "silero_vad_v6.onnx"  # inside faster_whisper/assets/
WINDOW = 512  # samples per model step at 16 kHz (32 ms); the model's input is fixed
CONTEXT = 64  # samples of the previous window the model sees in front of each window
STATE = (1, 1, 128)  # shape of the recurrent state h and c
PRE_ROLL_S = 0.2  # s of audio kept before the detected start of speech
POST_ROLL_S = 0.2  # s of audio kept after the last voiced window
HYSTERESIS = 0.15  # speech goes on until the probability drops below threshold - this
ONSET_LEVEL = 0.05  # once speech is confirmed, its start moves back over windows at or above
BACKTRACK_S = 0.5  # ... this level, by at most this long (a fresh model state is slow to
# rise: on 30 Asterisk prompts onsets came up to 0.34 s late without this, <= 0.16 s with it)
REFRESH_AFTER_S = 2.0  # s of windows below ONSET_LEVEL after which the model's state restarts,
PRIME_S = 0.5  # ... primed with this much of the latest (quiet) audio
REFRESH_WINDOWS = round(REFRESH_AFTER_S * PIPELINE_RATE / WINDOW)
PRIME_WINDOWS = round(PRIME_S * PIPELINE_RATE / WINDOW)

_session: onnxruntime.InferenceSession | None = None
_session_lock = threading.Lock()


def model_path() -> Path:
    return Path(get_assets_path()) / MODEL_FILE


def shared_session() -> onnxruntime.InferenceSession:
    """The one Silero session of the process (onnxruntime's run() is thread-safe)."""
    global _session
    with _session_lock:
        if _session is None:
            opts = onnxruntime.SessionOptions()
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.enable_cpu_mem_arena = False
            opts.log_severity_level = 4
            try:
                _session = onnxruntime.InferenceSession(
                    str(model_path()), providers=["CPUExecutionProvider"], sess_options=opts
                )
            except Exception as exc:
                raise VadError("vad-load-failed", f"{MODEL_FILE}: {type(exc).__name__}") from exc
        return _session


def warm_up() -> None:
    """Create the shared session and run one window, so the first call does not pay for it
    (about 15 ms here: small, but on the first call's first frames)."""
    SileroStream(shared_session()).probability(np.zeros(WINDOW, dtype=np.float32))


class SpeechProbability(Protocol):
    """A speech model over consecutive 512-sample windows of one stream."""

    def reset(self) -> None: ...
    def probability(self, window: npt.NDArray[np.float32]) -> float: ...


class SileroStream:
    """The model's state for one audio stream: feed 512-sample windows in order.

    After `REFRESH_AFTER_S` of quiet windows the recurrent state restarts from zero, primed
    with the latest `PRIME_S` of audio: fed long silence (digital silence above all), the
    state drifts and the model reacts ever later to the next speech (the first window at
    0.5 came 40-60 ms into a word after 1 s of silence, 0.2-0.4 s after 10 s, and a short
    "goodbye" was missed after 30 s; bench/README.md, Barge-in).
    """

    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self._session = session
        self.reset()

    def reset(self) -> None:
        self._restart()
        self._recent: deque[npt.NDArray[np.float32]] = deque(maxlen=PRIME_WINDOWS)
        self._quiet = 0  # quiet windows in a row

    def _restart(self) -> None:
        self._h = np.zeros(STATE, dtype=np.float32)
        self._c = np.zeros(STATE, dtype=np.float32)
        self._context = np.zeros((1, CONTEXT), dtype=np.float32)

    def probability(self, window: npt.NDArray[np.float32]) -> float:
        """Speech probability of the next window (WINDOW float32 samples in [-1, 1])."""
        prob = self._run(window)
        self._recent.append(np.array(window, dtype=np.float32))
        self._quiet = self._quiet + 1 if prob < ONSET_LEVEL else 0
        if self._quiet >= REFRESH_WINDOWS:
            self._restart()
            for recent in self._recent:
                self._run(recent)
            self._quiet = 0
        return prob

    def _run(self, window: npt.NDArray[np.float32]) -> float:
        frame = np.concatenate([self._context, window.reshape(1, WINDOW)], axis=1)
        try:
            out, h, c = self._session.run(None, {"input": frame, "h": self._h, "c": self._c})
        except Exception as exc:
            raise VadError("vad-failed", type(exc).__name__) from exc
        self._h, self._c = h, c
        self._context = frame[:, -CONTEXT:]
        return float(np.asarray(out).ravel()[0])


@dataclass(slots=True)
class _Turn:
    """Where the current (candidate) turn is, in samples since the last reset."""

    onset: int | None = None  # start of the first voiced window of a candidate start
    voiced: int = 0  # voiced windows since onset
    start: int | None = None  # confirmed speech start (speech_active)
    voice_end: int = 0  # end of the last window that was not silent
    silent_since: int | None = None  # start of the current run of silent windows
    tentative_sent: bool = False  # a tentative utterance went out for this silence run


class SileroTurnDetector:
    """Implements appliance.ports.EndOfTurnDetector on 16 kHz chunks (20 ms each, or any size).

    Speech starts after `min_speech_ms` of windows at or above `threshold`; the turn ends
    after `min_silence_ms` below `threshold - 0.15`, or when it reaches `max_utterance_s`.
    The utterance keeps 0.2 s of audio before the start and 0.2 s after the last voiced
    window. At most one utterance comes out of a call to `feed`; if one large chunk
    completes several, the others come out of the following calls.
    """

    def __init__(
        self,
        vad: Vad,
        rate: int = PIPELINE_RATE,
        clock: Callable[[], float] = time.monotonic,
        *,
        model: SpeechProbability | None = None,  # default: Silero on the shared session
    ) -> None:
        if rate != PIPELINE_RATE:
            raise VadError("vad-bad-rate", f"the detector needs {PIPELINE_RATE} Hz, got {rate}")
        self._cfg = vad
        self._clock = clock
        self._stop_below = max(vad.threshold - HYSTERESIS, 0.01)
        self._min_voiced = max(1, -(-vad.min_speech_ms * rate // (1000 * WINDOW)))  # ceil
        self._min_silence = vad.min_silence_ms * rate // 1000  # samples
        self._max_len = int(vad.max_utterance_s * rate)  # samples
        self._pre_roll = int(PRE_ROLL_S * rate)
        self._backtrack = int(BACKTRACK_S * rate)
        self._post_roll = int(POST_ROLL_S * rate)
        self._early = vad.early_stt_ms * rate // 1000  # samples (0: no tentative utterances)
        self._model = model if model is not None else SileroStream(shared_session())
        self.reset()

    def reset(self) -> None:
        """Forget everything: model state, audio, the current turn."""
        self._model.reset()
        self._pending = np.zeros(0, dtype=np.float32)  # samples not yet in a window
        self._pos = 0  # samples received
        self._win_pos = 0  # start of the next window
        self._audio = bytearray()  # PCM from _audio_pos to _pos
        self._audio_pos = 0
        self._floor = 0  # end of the last utterance's audio: the next one starts after it
        self._anchor = (0, 0.0)  # (sample position, its time): the latest chunk's start
        self._turn = _Turn()
        self._history: deque[tuple[int, float]] = deque(maxlen=64)  # (window start, prob)
        self._ready: deque[Utterance] = deque()
        self._tentative: Utterance | None = None
        self._probability = 0.0

    @property
    def speech_active(self) -> bool:
        """True from the confirmed start of speech until the end of the turn."""
        return self._turn.start is not None

    @property
    def probability(self) -> float:
        """Speech probability of the latest window."""
        return self._probability

    def feed(self, chunk: AudioChunk) -> Utterance | None:
        if chunk.rate != PIPELINE_RATE:
            raise VadError("vad-bad-rate", f"chunk at {chunk.rate} Hz, need {PIPELINE_RATE}")
        self._anchor = (self._pos, chunk.timestamp)
        self._pending = np.concatenate([self._pending, to_float32(chunk.pcm)])
        self._audio += chunk.pcm
        self._pos += chunk.samples
        while self._pending.size >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            self._probability = self._model.probability(window)
            self._win_pos += WINDOW
            self._step(self._probability, self._win_pos - WINDOW, self._win_pos)
            self._history.append((self._win_pos - WINDOW, self._probability))
        self._trim()
        return self._ready.popleft() if self._ready else None

    def _step(self, prob: float, start: int, end: int) -> None:
        """Advance the turn by one window [start, end) of probability `prob`."""
        turn, voiced, silent = self._turn, prob >= self._cfg.threshold, prob < self._stop_below
        if turn.start is None:
            if voiced:
                turn.onset = start if turn.onset is None else turn.onset
                turn.voiced += 1
                if turn.voiced >= self._min_voiced:
                    turn.start, turn.voice_end = self._backtracked(turn.onset), end
            elif silent:
                turn.onset, turn.voiced = None, 0
            return
        if voiced or (not silent and turn.silent_since is None):
            turn.voice_end, turn.silent_since, turn.tentative_sent = end, None, False
        elif silent and turn.silent_since is None:
            turn.silent_since = start
        if (
            self._early
            and turn.silent_since is not None
            and not turn.tentative_sent
            and end - turn.silent_since >= self._early
        ):
            turn.tentative_sent = True
            self._tentative = self._utterance(turn.start, turn.voice_end)
        if (
            turn.silent_since is not None and end - turn.silent_since >= self._min_silence
        ) or end - turn.start >= self._max_len:
            self._finish(turn.start, turn.voice_end)

    def _backtracked(self, onset: int) -> int:
        """Move `onset` back over the contiguous windows before it at or above ONSET_LEVEL."""
        start = onset
        for pos, prob in reversed(self._history):
            if pos >= start:
                continue
            if (
                pos != start - WINDOW
                or prob < ONSET_LEVEL
                or onset - pos > self._backtrack
                or pos < self._floor
            ):
                break
            start = pos
        return start

    def tentative(self) -> Utterance | None:
        """The turn so far, once per pause of `early_stt_ms` (speculative STT may start on
        it); the final utterance, if the turn ends at this pause, has the same span."""
        found, self._tentative = self._tentative, None
        return found

    def commit(self) -> Utterance | None:
        """End the turn now, at the span of the latest tentative utterance (the session
        found its transcript complete: semantic end of turn). None when the caller has
        spoken since that tentative (the pause it belonged to is over)."""
        turn = self._turn
        if turn.start is None or turn.silent_since is None or not turn.tentative_sent:
            return None
        utterance = self._utterance(turn.start, turn.voice_end)
        self._floor = min(turn.voice_end + self._post_roll, self._pos)
        self._turn = _Turn()
        self._tentative = None
        return utterance

    def _finish(self, start: int, voice_end: int) -> None:
        """Queue the utterance [start - pre-roll, voice_end + post-roll) and start a new turn."""
        self._ready.append(self._utterance(start, voice_end))
        self._floor = min(voice_end + self._post_roll, self._pos)
        self._turn = _Turn()
        self._tentative = None

    def _utterance(self, start: int, voice_end: int) -> Utterance:
        first = max(start - self._pre_roll, self._audio_pos, self._floor)
        last = min(voice_end + self._post_roll, self._pos)
        lo = (first - self._audio_pos) * SAMPLE_WIDTH
        hi = (last - self._audio_pos) * SAMPLE_WIDTH
        audio = AudioChunk(bytes(self._audio[lo:hi]), PIPELINE_RATE, self._time(first))
        return Utterance(
            audio=audio,
            speech_start=self._time(start),
            speech_end=self._time(voice_end),
            detected_at=self._clock(),
        )

    def _trim(self) -> None:
        """Drop audio that no utterance can need any more."""
        turn = self._turn
        if turn.start is not None:
            keep_from = turn.start - self._pre_roll
        else:
            onset = self._win_pos if turn.onset is None else turn.onset
            keep_from = onset - self._backtrack - self._pre_roll
        drop = keep_from - self._audio_pos
        if drop > 0:
            del self._audio[: drop * SAMPLE_WIDTH]
            self._audio_pos += drop

    def _time(self, pos: int) -> float:
        """Time (s, the chunks' clock) of the sample at stream position `pos`."""
        anchor_pos, anchor_time = self._anchor
        return anchor_time + (pos - anchor_pos) / PIPELINE_RATE

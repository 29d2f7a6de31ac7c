"""Speech to text with faster-whisper (CTranslate2), on one worker thread per model.

The `segments` result is a lazy generator: it is consumed inside the worker thread,
never on the event loop. Transcriptions run one at a time (a second one in parallel
would only oversubscribe the cores CTranslate2 already uses). Transcripts are PHI:
they are returned, never logged, and no error message carries them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from appliance.audio import PIPELINE_RATE, resample, to_float32
from appliance.config import Stt
from appliance.domain import Transcript, Utterance
from appliance.errors import SpeechToTextError
from appliance.speech.whisper_window import WindowedWhisperModel, window_frames

logger = logging.getLogger(__name__)

LANGUAGE = "en"
CUDA_UNAVAILABLE = "stt-cuda-unavailable"  # the model runs on the CPU instead
CPU_FALLBACK_COMPUTE = "int8"
# Makes the model: WindowedWhisperModel(path, device=, compute_type=, cpu_threads=,
# local_files_only=); a stand-in in tests
ModelLoader = Callable[..., Any]
# CTranslate2 compute types that make sense per device; "auto" picks the first
COMPUTE_TYPES = {
    "cpu": ("int8", "int8_float32", "int16", "float32"),
    "cuda": ("float16", "int8_float16", "int8", "bfloat16", "int8_bfloat16", "float32"),
}


def compute_type_for(device: str, configured: str) -> str:
    """The compute type for `device`: int8 on CPU, float16 on CUDA for "auto".

    Raises stt-bad-compute-type for an unknown device or a type that does not fit it
    (float16 on a CPU would be emulated, slowly).
    """
    kind = device.split(":", 1)[0]
    types = COMPUTE_TYPES.get(kind)
    if types is None:
        raise SpeechToTextError("stt-bad-device", f"[stt] device must be cpu or cuda: {device}")
    if configured == "auto":
        return types[0]
    if configured not in types:
        raise SpeechToTextError(
            "stt-bad-compute-type",
            f"[stt] compute_type {configured} does not fit device {kind}: one of "
            f"auto, {', '.join(types)}",
        )
    return configured


def vocabulary_hint(*terms: str) -> str | None:
    """Clinic vocabulary (clinic and provider names...) as Whisper hotwords; None if empty."""
    words = [t.strip() for t in terms if t.strip()]
    return ", ".join(dict.fromkeys(words)) or None


class WhisperStt:
    """Implements appliance.ports.SpeechToText."""

    def __init__(
        self, model: Any, stt: Stt, hotwords: str | None = None, fallback: str | None = None
    ) -> None:
        self._model = model  # a faster_whisper.WhisperModel (or a stand-in in unit tests)
        self._cfg = stt
        self._hotwords = vocabulary_hint(hotwords or "", *stt.vocabulary)
        self._lock = threading.Lock()  # the sync path may be called from any thread
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt")
        self.fallback = fallback  # CUDA_UNAVAILABLE when [stt] asked for CUDA and got the CPU

    @property
    def device(self) -> str:
        """Where the model runs: `[stt] device`, or "cpu" after a fallback."""
        return self._cfg.device

    @classmethod
    def load(
        cls,
        model_dir: Path,
        stt: Stt,
        hotwords: str | None = None,
        loader: ModelLoader = WindowedWhisperModel,
    ) -> WhisperStt:
        """Load from a local CTranslate2 directory only (no hub look-up).

        `hotwords` (e.g. the clinic's name) and `[stt] vocabulary` (providers' names,
        clinic terms) bias decoding. On CUDA the model also transcribes 1 s of silence
        here (CUDA libraries load on first use); if either fails, the model loads on the
        CPU with int8 instead, logged with the code stt-cuda-unavailable and `fallback`
        set, so that the caller can count it and show it in health.
        """
        if not (model_dir / "model.bin").is_file():
            raise SpeechToTextError("stt-model-missing", f"no model.bin in {model_dir}")
        compute_type = compute_type_for(stt.device, stt.compute_type)
        if stt.device.startswith("cuda"):
            try:
                on_gpu = cls(_open(loader, model_dir, stt, compute_type), stt, hotwords)
                on_gpu.warm_up()
                return on_gpu
            except Exception as exc:
                _log_fallback(stt.device, exc)
            stt = msgspec.structs.replace(stt, device="cpu", compute_type=CPU_FALLBACK_COMPUTE)
            model = _open(loader, model_dir, stt, CPU_FALLBACK_COMPUTE)
            return cls(model, stt, hotwords, fallback=CUDA_UNAVAILABLE)
        return cls(_open(loader, model_dir, stt, compute_type), stt, hotwords)

    def warm_up(self) -> None:
        """Transcribe 1 s of silence, so the first real call does not pay for set-up."""
        self.transcribe_pcm(bytes(PIPELINE_RATE * 2), PIPELINE_RATE)

    async def transcribe(self, utterance: Utterance) -> Transcript:
        audio = utterance.audio
        loop = asyncio.get_running_loop()
        try:
            job = loop.run_in_executor(self._executor, self.transcribe_pcm, audio.pcm, audio.rate)
        except RuntimeError as exc:  # the executor was shut down
            raise SpeechToTextError("stt-closed", "the model was closed") from exc
        try:
            return await job
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our caller was cancelled: let it through
            # close() dropped the queued job
            raise SpeechToTextError("stt-closed", "the model was closed") from None

    def transcribe_pcm(self, pcm: bytes, rate: int) -> Transcript:
        """Blocking: transcribe s16le mono PCM at any rate (resampled to 16 kHz)."""
        try:
            samples = to_float32(resample(pcm, rate, PIPELINE_RATE))
            with self._lock:
                return self._run(samples)
        except Exception as exc:
            # never the exception's text: a library could quote what it was decoding
            raise SpeechToTextError("stt-failed", type(exc).__name__) from exc

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, samples: npt.NDArray[np.float32]) -> Transcript:
        duration = samples.size / PIPELINE_RATE
        if samples.size == 0:
            return Transcript("", LANGUAGE, 0.0, 1.0, 0.0)
        if isinstance(self._model, WindowedWhisperModel):
            self._model.window = window_frames(duration, self._cfg.window_s)
        segments, _info = self._model.transcribe(
            samples,
            language=LANGUAGE,
            beam_size=self._cfg.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
            word_timestamps=self._cfg.word_confidence,
            hotwords=self._hotwords,
        )
        parts = list(segments)  # runs the decoder: here, in the worker thread
        if not parts:
            return Transcript("", LANGUAGE, 0.0, 1.0, duration)
        cfg = self._cfg
        low = _low_words(parts, cfg.low_word_probability) if cfg.word_confidence else None
        return Transcript(
            text=without_repeats(" ".join(s.text.strip() for s in parts).strip()),
            language=LANGUAGE,
            avg_logprob=float(np.mean([s.avg_logprob for s in parts])),
            no_speech_prob=float(np.mean([s.no_speech_prob for s in parts])),
            duration=duration,
            low_words=low,
        )


def without_repeats(text: str) -> str:
    """`text` without a sentence of three words or more said again right after itself:
    Whisper's loop on a short window ("Where should I park? Where should I park?"), not a
    caller's (people repeat words, rarely a whole sentence at once)."""
    sentences = re.split(r"(?<=[.?!])\s+", text)  # never inside "617.555.0142" or "101.5"
    kept: list[str] = []
    last: list[str] = []
    for sentence in sentences:
        words = re.sub(r"[^a-z0-9' ]", " ", sentence.lower()).split()
        if len(words) >= 3 and words == last:
            continue
        kept.append(sentence)
        last = words
    return text if len(kept) == len(sentences) else " ".join(kept)  # as said when no loop


def _low_words(parts: list[Any], below: float) -> int:
    """How many words of the segments Whisper gave a probability under `below` (the
    count only: the words are PHI)."""
    return sum(1 for s in parts for w in (s.words or ()) if w.probability < below)


def _open(loader: ModelLoader, model_dir: Path, stt: Stt, compute_type: str) -> Any:
    try:
        return loader(
            str(model_dir),
            device=stt.device,
            compute_type=compute_type,
            cpu_threads=stt.threads,
            local_files_only=True,
        )
    except Exception as exc:
        raise SpeechToTextError("stt-load-failed", f"{model_dir}: {exc}") from exc


def _log_fallback(device: str, exc: Exception) -> None:
    # The reason is CTranslate2's own (e.g. "CUDA driver version is insufficient"): no
    # caller audio has been near the model yet.
    logger.warning(
        "stt on the cpu: cuda did not load",
        extra={
            "stage": "stt",
            "code": CUDA_UNAVAILABLE,
            "device": device,
            "reason": " ".join(str(exc).split())[:200],
        },
    )

"""Speech to text with faster-whisper (CTranslate2), on worker threads.

The `segments` result is a lazy generator: it is consumed inside the worker thread,
never on the event loop. Transcripts are PHI: they are returned, never logged.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

from appliance.audio import PIPELINE_RATE, resample, to_float32
from appliance.config import Stt
from appliance.domain import Transcript, Utterance
from appliance.errors import SpeechToTextError


class WhisperStt:
    """Implements appliance.ports.SpeechToText."""

    def __init__(self, model: WhisperModel, cfg: Stt, prompt: str | None) -> None:
        self._model = model
        self._cfg = cfg
        self._prompt = prompt
        # CTranslate2 runs one transcription per model replica; more in parallel only
        # oversubscribes the cores, so calls queue here.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path, cfg: Stt, vocabulary: str | None = None) -> WhisperStt:
        """Load from a local directory only; `vocabulary` (e.g. clinic names) biases decoding."""
        if not (model_dir / "model.bin").is_file():
            raise SpeechToTextError("stt-model-missing", f"no model.bin in {model_dir}")
        try:
            model = WhisperModel(
                str(model_dir),
                device=cfg.device,
                compute_type=cfg.compute_type,
                cpu_threads=cfg.threads,
                local_files_only=True,
            )
        except Exception as exc:
            raise SpeechToTextError("stt-load-failed", type(exc).__name__) from exc
        return cls(model, cfg, vocabulary)

    def warm_up(self) -> None:
        self.transcribe_pcm(bytes(PIPELINE_RATE * 2), PIPELINE_RATE)

    async def transcribe(self, utterance: Utterance) -> Transcript:
        audio = utterance.audio
        return await asyncio.to_thread(self.transcribe_pcm, audio.pcm, audio.rate)

    def transcribe_pcm(self, pcm: bytes, rate: int) -> Transcript:
        """Blocking: transcribe s16 mono PCM at any rate."""
        samples = to_float32(resample(pcm, rate, PIPELINE_RATE))
        with self._lock:
            try:
                return self._run(samples)
            except SpeechToTextError:
                raise
            except Exception as exc:
                raise SpeechToTextError("stt-failed", type(exc).__name__) from exc

    def _run(self, samples: np.ndarray) -> Transcript:  # type: ignore[type-arg]
        segments, info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self._cfg.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            initial_prompt=self._prompt,
            without_timestamps=True,
        )
        parts = list(segments)  # consume the lazy generator here, in the worker thread
        text = " ".join(s.text.strip() for s in parts).strip()
        n = max(1, len(parts))
        return Transcript(
            text=text,
            language=info.language,
            avg_logprob=sum(s.avg_logprob for s in parts) / n,
            no_speech_prob=sum(s.no_speech_prob for s in parts) / n if parts else 1.0,
            duration=samples.size / PIPELINE_RATE,
        )

"""Text to speech with piper (onnxruntime), sentence by sentence, on worker threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from piper import PiperVoice

from appliance.audio import PIPELINE_RATE, AudioChunk, resample
from appliance.errors import TextToSpeechError

_DONE = object()


class PiperTts:
    """Implements appliance.ports.TextToSpeech; audio comes out at `rate`."""

    def __init__(self, voice: PiperVoice, out_rate: int) -> None:
        self._voice = voice
        self._rate = out_rate
        self._lock = threading.Lock()  # one synthesis at a time per voice

    @classmethod
    def load(cls, voice_dir: Path, voice: str, out_rate: int = PIPELINE_RATE) -> PiperTts:
        onnx = voice_dir / f"{voice}.onnx"
        config = voice_dir / f"{voice}.onnx.json"
        if not onnx.is_file() or not config.is_file():
            raise TextToSpeechError("tts-model-missing", f"voice {voice} not in {voice_dir}")
        try:
            return cls(PiperVoice.load(onnx, config_path=config), out_rate)
        except Exception as exc:
            raise TextToSpeechError("tts-load-failed", type(exc).__name__) from exc

    @property
    def rate(self) -> int:
        return self._rate

    def _sentences(self, text: str) -> Iterator[AudioChunk]:
        """Blocking: one chunk per sentence, resampled."""
        with self._lock:
            try:
                for chunk in self._voice.synthesize(text):
                    pcm = resample(chunk.audio_int16_bytes, chunk.sample_rate, self._rate)
                    yield AudioChunk(pcm, self._rate)
            except Exception as exc:
                raise TextToSpeechError("tts-failed", type(exc).__name__) from exc

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if not text.strip():
            return
        sentences = self._sentences(text)
        while True:
            item = await asyncio.to_thread(next, sentences, _DONE)
            if item is _DONE:
                return
            assert isinstance(item, AudioChunk)
            yield item

    def synthesize_all(self, text: str) -> AudioChunk:
        pcm = b"".join(c.pcm for c in self._sentences(text)) if text.strip() else b""
        return AudioChunk(pcm, self._rate)

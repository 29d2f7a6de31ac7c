"""Text to speech with piper (onnxruntime), sentence by sentence, on a worker thread.

Piper's espeak-ng phonemizer keeps global state, so one voice synthesizes one text at a
time (a lock). Each sentence's audio is handed to the event loop as soon as it is
ready; a consumer that stops listening (barge-in) stops the worker after the sentence
in progress. The text is PHI: it is never logged and no error message carries it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from piper import PiperVoice, SynthesisConfig

from appliance.audio import PIPELINE_RATE, AudioChunk, resample
from appliance.errors import TextToSpeechError

_Item = AudioChunk | TextToSpeechError | None  # None: the text is done


def _closed() -> TextToSpeechError:
    return TextToSpeechError("tts-closed", "the voice was closed")


def _quiet_piper() -> None:
    """piper.voice logs the text it speaks at DEBUG: keep that logger at INFO or above."""
    logger = logging.getLogger("piper")
    if logger.getEffectiveLevel() < logging.INFO:
        logger.setLevel(logging.INFO)


class PiperTts:
    """Implements appliance.ports.TextToSpeech; audio comes out at `rate` Hz."""

    def __init__(self, voice: Any, out_rate: int = PIPELINE_RATE) -> None:
        self._voice = voice  # a piper.PiperVoice (or a stand-in in unit tests)
        self._rate = out_rate
        self._lock = threading.Lock()  # one synthesis at a time per voice
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")

    @classmethod
    def load(cls, voice_dir: Path, voice: str, out_rate: int = PIPELINE_RATE) -> PiperTts:
        """Load `<voice_dir>/<voice>.onnx` and its `.onnx.json` config (local files only)."""
        onnx = voice_dir / f"{voice}.onnx"
        config = voice_dir / f"{voice}.onnx.json"
        if not onnx.is_file() or not config.is_file():
            raise TextToSpeechError("tts-model-missing", f"voice {voice} not in {voice_dir}")
        _quiet_piper()
        try:
            return cls(PiperVoice.load(onnx, config_path=config), out_rate)
        except Exception as exc:
            raise TextToSpeechError("tts-load-failed", f"{onnx}: {type(exc).__name__}") from exc

    @property
    def rate(self) -> int:
        return self._rate

    def _speak(
        self, text: str, emit: Callable[[AudioChunk], bool], length_scale: float | None = None
    ) -> None:
        """Blocking: synthesize sentence by sentence, `emit` each; stop when it says False."""
        with self._lock:
            chunks: Iterator[Any] = iter(())
            try:
                if length_scale is None:
                    chunks = iter(self._voice.synthesize(text))
                else:  # a slower or faster voice (the simulated caller's pace)
                    config = SynthesisConfig(length_scale=length_scale)
                    chunks = iter(self._voice.synthesize(text, syn_config=config))
                for chunk in chunks:
                    pcm = resample(chunk.audio_int16_bytes, chunk.sample_rate, self._rate)
                    if not emit(AudioChunk(pcm, self._rate)):
                        return
            except Exception as exc:
                raise TextToSpeechError("tts-failed", type(exc).__name__) from exc
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()  # piper's generator: stop it here, under the lock

    async def synthesize(self, text: str) -> AsyncGenerator[AudioChunk, None]:
        """Yield each sentence's audio as soon as the worker thread has it.

        Closing the generator early (`aclose()`, or cancelling the consumer) stops the
        worker after the sentence in progress.
        """
        if not text.strip():
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        stop = threading.Event()

        def put(item: _Item) -> bool:
            if stop.is_set():
                return False
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening
                return False
            return True

        def work() -> None:
            try:
                self._speak(text, put)
            except TextToSpeechError as exc:
                put(exc)
            else:
                put(None)

        try:
            job = loop.run_in_executor(self._executor, work)
        except RuntimeError as exc:  # the executor was shut down
            raise _closed() from exc

        def cancelled(future: asyncio.Future[None]) -> None:
            if future.cancelled():  # close() dropped the job before it ran
                queue.put_nowait(_closed())

        job.add_done_callback(cancelled)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, TextToSpeechError):
                    raise item
                yield item
        finally:
            stop.set()

    def synthesize_all(self, text: str, length_scale: float | None = None) -> AudioChunk:
        """Blocking: the whole text as one chunk (empty for blank text); `length_scale`
        sets the pace (Piper's: above 1 slower)."""
        parts: list[bytes] = []

        def keep(chunk: AudioChunk) -> bool:
            parts.append(chunk.pcm)
            return True

        if text.strip():
            self._speak(text, keep, length_scale)
        return AudioChunk(b"".join(parts), self._rate)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

"""PiperTts around a stand-in voice: streaming per sentence, resampling, locking, errors."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from appliance.errors import TextToSpeechError
from appliance.speech.tts import PiperTts

pytestmark = pytest.mark.unit

VOICE_RATE = 22_050
SECRET = "Your appointment with Dr. Smith is on Tuesday."


@dataclass
class Chunk:
    """What piper's synthesize() yields (the fields PiperTts reads)."""

    audio_int16_bytes: bytes
    sample_rate: int = VOICE_RATE


class FakeVoice:
    """One chunk per '.'-separated sentence, 0.1 s of audio per word."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.gates: list[threading.Event] = []  # sentence i waits for gates[i-1] if present
        self.produced = 0
        self.active = 0
        self.max_active = 0
        self.closed = threading.Event()
        self._guard = threading.Lock()

    def synthesize(self, text: str) -> Iterator[Chunk]:
        with self._guard:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            for i, sentence in enumerate(s for s in text.split(".") if s.strip()):
                if 0 < i <= len(self.gates):
                    assert self.gates[i - 1].wait(5), "the consumer never asked for more"
                if self.fail_at == i:
                    raise RuntimeError(f"espeak choked on {sentence!r}")
                samples = int(0.1 * VOICE_RATE) * len(sentence.split())
                self.produced += 1
                yield Chunk(np.full(samples, 1000, dtype="<i2").tobytes())
        finally:
            with self._guard:
                self.active -= 1
            self.closed.set()


async def collect(tts: PiperTts, text: str) -> list[float]:
    return [chunk.duration async for chunk in tts.synthesize(text)]


async def test_sentences_stream_resampled_to_the_output_rate():
    tts = PiperTts(FakeVoice(), out_rate=16_000)
    assert tts.rate == 16_000
    got = [chunk async for chunk in tts.synthesize("One two three. Four five.")]
    assert [c.rate for c in got] == [16_000, 16_000]
    assert [c.duration for c in got] == pytest.approx([0.3, 0.2], abs=0.002)
    tts.close()


async def test_first_sentence_arrives_before_the_second_is_made():
    voice = FakeVoice()
    gate = threading.Event()
    voice.gates.append(gate)  # sentence 2 is only made once the test has sentence 1
    tts = PiperTts(voice)
    stream = tts.synthesize("First sentence here. Second one.")
    first = await asyncio.wait_for(anext(stream), 5)
    assert first.duration > 0 and voice.produced == 1
    gate.set()
    rest = [c async for c in stream]
    assert len(rest) == 1 and voice.produced == 2


async def test_blank_text_yields_nothing_and_never_reaches_the_voice():
    voice = FakeVoice()
    tts = PiperTts(voice)
    assert await collect(tts, "  \n\t ") == []
    assert tts.synthesize_all("").pcm == b""
    assert voice.max_active == 0


async def test_errors_are_coded_and_carry_no_text():
    tts = PiperTts(FakeVoice(fail_at=1))
    got = []
    with pytest.raises(TextToSpeechError) as err:
        async for chunk in tts.synthesize(SECRET + " Bring your card."):
            got.append(chunk)
    assert len(got) == 1  # the first sentence was already out
    assert err.value.code == "tts-failed"
    assert "Smith" not in str(err.value) and "card" not in str(err.value)
    with pytest.raises(TextToSpeechError):
        PiperTts(FakeVoice(fail_at=0)).synthesize_all(SECRET)


async def test_a_consumer_that_stops_early_frees_the_voice():
    voice = FakeVoice()
    gate = threading.Event()
    voice.gates.append(gate)
    tts = PiperTts(voice)
    stream = tts.synthesize("One. Two. Three. Four. Five. Six.")
    await anext(stream)
    await stream.aclose()  # barge-in
    gate.set()
    assert await asyncio.to_thread(voice.closed.wait, 5)
    assert voice.produced == 2  # the sentence in progress, then it stopped
    # the lock was released: the next text is spoken in full
    assert len(await collect(tts, "Again. And again.")) == 2


async def test_concurrent_texts_never_use_the_voice_at_once():
    voice = FakeVoice()
    tts = PiperTts(voice)
    texts = ["A b. C d.", "E f g. H.", "I. J k l m."]
    results = await asyncio.gather(*(collect(tts, t) for t in texts))
    assert [len(r) for r in results] == [2, 2, 2]
    assert voice.max_active == 1
    whole = await asyncio.to_thread(tts.synthesize_all, "One two. Three.")
    assert whole.duration == pytest.approx(0.3, abs=0.002) and whole.rate == 16_000


def test_load_refuses_missing_voice_files(tmp_path: Path):
    with pytest.raises(TextToSpeechError) as err:
        PiperTts.load(tmp_path, "en_US-nobody-medium")
    assert err.value.code == "tts-model-missing"
    (tmp_path / "v.onnx").write_bytes(b"not onnx")
    (tmp_path / "v.onnx.json").write_text("{}")
    with pytest.raises(TextToSpeechError) as err:
        PiperTts.load(tmp_path, "v")
    assert err.value.code == "tts-load-failed"


def test_piper_debug_logging_of_text_is_kept_off(tmp_path: Path):
    logging.getLogger("piper").setLevel(logging.NOTSET)
    with pytest.raises(TextToSpeechError):
        PiperTts.load(tmp_path, "absent")  # fails before touching the logger
    (tmp_path / "v.onnx").write_bytes(b"x")
    (tmp_path / "v.onnx.json").write_text("{}")
    with pytest.raises(TextToSpeechError):
        PiperTts.load(tmp_path, "v")
    assert not logging.getLogger("piper.voice").isEnabledFor(logging.DEBUG)


async def test_a_closed_voice_says_so_instead_of_hanging():
    voice = FakeVoice()
    gate = threading.Event()
    voice.gates.append(gate)
    tts = PiperTts(voice)
    first = tts.synthesize("One. Two.")
    await anext(first)  # the worker is now busy, waiting at the gate
    queued = tts.synthesize("Three.")
    pending = asyncio.ensure_future(anext(queued))
    await asyncio.sleep(0.05)
    tts.close()  # drops the queued job
    gate.set()
    with pytest.raises(TextToSpeechError) as err:
        await asyncio.wait_for(pending, 5)
    assert err.value.code == "tts-closed"
    with pytest.raises(TextToSpeechError) as err:
        await anext(tts.synthesize("Four."))
    assert err.value.code == "tts-closed"
    await first.aclose()

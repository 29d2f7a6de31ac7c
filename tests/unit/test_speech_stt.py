"""WhisperStt around a stand-in model: threading, options, averaging, error wrapping."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from appliance.audio import AudioChunk
from appliance.config import Stt
from appliance.domain import Utterance
from appliance.errors import SpeechToTextError
from appliance.speech.stt import WhisperStt, compute_type_for, vocabulary_hint

pytestmark = pytest.mark.unit

STT = Stt(model="whisper-tiny.en", device="cpu", compute_type="int8", beam_size=1, threads=2)
SECRET = "my date of birth is the fourth of july"
GATE_TIMEOUT_S = 5.0  # s a gated decode or the test waits for the other side at most


@dataclass
class Segment:
    text: str
    avg_logprob: float
    no_speech_prob: float


class FakeWhisper:
    """Lazy like faster-whisper: the work happens while `segments` is iterated."""

    def __init__(
        self,
        segments: list[Segment],
        fail: bool = False,
        delay: float = 0.0,
        gate: threading.Event | None = None,
    ) -> None:
        self.segments = segments
        self.fail = fail
        self.delay = delay  # s each decode takes (sleeps in the worker thread)
        self.gate = gate  # if given, each decode waits until it is set instead
        self.entered = threading.Event()  # set when a decode started on the worker
        self.calls: list[dict[str, Any]] = []
        self.sizes: list[int] = []
        self.consumed_on: list[str] = []
        self.active = 0
        self.max_active = 0
        self._guard = threading.Lock()

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Iterator[Segment], object]:
        self.calls.append(kwargs)
        self.sizes.append(audio.size)
        assert audio.dtype == np.float32
        return self._generate(), object()

    def _generate(self) -> Iterator[Segment]:
        self.consumed_on.append(threading.current_thread().name)
        with self._guard:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.entered.set()
        try:
            if self.gate is not None:
                assert self.gate.wait(GATE_TIMEOUT_S), "the test never released the decode"
            else:
                time.sleep(self.delay)
            if self.fail:
                raise RuntimeError(f"decoder choked on {SECRET!r}")
            yield from self.segments
        finally:
            with self._guard:
                self.active -= 1


def utterance(seconds: float = 1.0, rate: int = 16_000) -> Utterance:
    pcm = (np.sin(np.arange(int(seconds * rate)) / 5) * 8000).astype("<i2").tobytes()
    return Utterance(AudioChunk(pcm, rate, 1.0), 1.2, 1.9, 2.5)


async def test_transcribe_consumes_segments_on_a_worker_thread():
    fake = FakeWhisper([Segment(" Hello there.", -0.2, 0.1), Segment(" Bye.", -0.4, 0.3)])
    stt = WhisperStt(fake, STT, hotwords="Riverside Family Clinic")
    transcript = await stt.transcribe(utterance())
    assert transcript.text == "Hello there. Bye."
    assert transcript.language == "en"
    assert transcript.avg_logprob == pytest.approx(-0.3)
    assert transcript.no_speech_prob == pytest.approx(0.2)
    assert transcript.duration == pytest.approx(1.0)
    assert fake.consumed_on and fake.consumed_on[0] != threading.current_thread().name
    assert fake.calls[0] == {
        "language": "en",
        "beam_size": 1,
        "vad_filter": False,
        "condition_on_previous_text": False,
        "without_timestamps": True,
        "word_timestamps": False,  # [stt] word_confidence off: no words counted
        "hotwords": "Riverside Family Clinic",
    }
    assert transcript.low_words is None
    stt.close()


def test_transcribe_pcm_resamples_to_16k():
    fake = FakeWhisper([Segment("x", -0.1, 0.0)])
    stt = WhisperStt(fake, STT)
    pcm = bytes(8000 * 2)  # 1 s at 8 kHz
    transcript = stt.transcribe_pcm(pcm, 8000)
    assert fake.sizes == [16_000]
    assert transcript.duration == pytest.approx(1.0)


def test_no_segments_and_no_audio_give_empty_transcripts():
    fake = FakeWhisper([])
    stt = WhisperStt(fake, STT)
    assert stt.transcribe_pcm(bytes(3200), 16_000).text == ""
    empty = stt.transcribe_pcm(b"", 16_000)
    assert empty.text == "" and empty.no_speech_prob == 1.0 and empty.duration == 0.0
    assert len(fake.calls) == 1  # empty audio never reaches the model


async def test_errors_are_coded_and_carry_no_transcript_text():
    stt = WhisperStt(FakeWhisper([], fail=True), STT)
    with pytest.raises(SpeechToTextError) as err:
        await stt.transcribe(utterance())
    assert err.value.code == "stt-failed"
    assert "july" not in str(err.value) and "birth" not in str(err.value)
    with pytest.raises(SpeechToTextError) as err:
        stt.transcribe_pcm(b"\x00", 16_000)  # odd length: not PCM16
    assert err.value.code == "stt-failed"


async def test_concurrent_calls_run_one_at_a_time():
    fake = FakeWhisper([Segment("ok", -0.1, 0.0)], delay=0.05)
    stt = WhisperStt(fake, STT)
    loop_thread = threading.current_thread().name
    results = await asyncio.gather(*(stt.transcribe(utterance(0.2)) for _ in range(4)))
    assert [r.text for r in results] == ["ok"] * 4
    assert fake.max_active == 1
    assert loop_thread not in fake.consumed_on


def test_sync_calls_from_threads_are_serialised_too():
    fake = FakeWhisper([Segment("ok", -0.1, 0.0)], delay=0.03)
    stt = WhisperStt(fake, STT)
    threads = [
        threading.Thread(target=stt.transcribe_pcm, args=(bytes(640), 16_000)) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.max_active == 1 and len(fake.calls) == 3


def test_warm_up_transcribes_one_second_of_silence():
    fake = FakeWhisper([])
    WhisperStt(fake, STT).warm_up()
    assert fake.sizes == [16_000]


def test_load_refuses_a_directory_without_a_model(tmp_path: Path):
    with pytest.raises(SpeechToTextError) as err:
        WhisperStt.load(tmp_path, STT)
    assert err.value.code == "stt-model-missing"
    (tmp_path / "model.bin").write_bytes(b"garbage")
    with pytest.raises(SpeechToTextError) as err:
        WhisperStt.load(tmp_path, STT)
    assert err.value.code == "stt-load-failed"


async def test_a_closed_model_says_so():
    stt = WhisperStt(FakeWhisper([]), STT)
    stt.close()
    with pytest.raises(SpeechToTextError) as err:
        await stt.transcribe(utterance())
    assert err.value.code == "stt-closed"


async def decoding(fake: FakeWhisper) -> None:
    """Return once a decode has started on the worker thread."""
    started = await asyncio.to_thread(fake.entered.wait, GATE_TIMEOUT_S)
    assert started, f"no decode started within {GATE_TIMEOUT_S} s"


async def test_closing_drops_queued_work_with_a_coded_error():
    gate = threading.Event()
    fake = FakeWhisper([Segment("ok", -0.1, 0.0)], gate=gate)
    stt = WhisperStt(fake, STT)
    running = asyncio.ensure_future(stt.transcribe(utterance(0.2)))
    queued = asyncio.ensure_future(stt.transcribe(utterance(0.2)))
    await decoding(fake)  # the first is on the worker, the second waits in its queue
    stt.close()
    gate.set()
    assert (await running).text == "ok"
    with pytest.raises(SpeechToTextError) as err:
        await queued
    assert err.value.code == "stt-closed"


async def test_cancelling_the_caller_is_not_turned_into_an_error():
    gate = threading.Event()
    fake = FakeWhisper([Segment("ok", -0.1, 0.0)], gate=gate)
    stt = WhisperStt(fake, STT)
    task = asyncio.ensure_future(stt.transcribe(utterance(0.2)))
    await decoding(fake)  # cancelled while the model is busy with it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()
    stt.close()


def test_clinic_vocabulary_joins_the_clinic_name_as_hotwords():
    fake = FakeWhisper([Segment("ok", -0.1, 0.0)])
    cfg = msgspec.structs.replace(STT, vocabulary=["Doctor Nakamura", " ", "Riverside"])
    stt = WhisperStt(fake, cfg, hotwords="Riverside")
    stt.transcribe_pcm(bytes(3200), 16_000)
    assert fake.calls[0]["hotwords"] == "Riverside, Doctor Nakamura"
    WhisperStt(fake, STT).transcribe_pcm(bytes(3200), 16_000)
    assert fake.calls[1]["hotwords"] is None  # no vocabulary: no hotwords at all
    assert vocabulary_hint("", "  ") is None


@pytest.mark.parametrize(
    ("device", "configured", "expected"),
    [
        ("cpu", "auto", "int8"),
        ("cpu", "int8", "int8"),
        ("cuda", "auto", "float16"),
        ("cuda:0", "int8_float16", "int8_float16"),
    ],
)
def test_compute_type_by_device(device: str, configured: str, expected: str) -> None:
    assert compute_type_for(device, configured) == expected


@pytest.mark.parametrize(
    ("device", "configured", "code"),
    [("cpu", "float16", "stt-bad-compute-type"), ("tpu", "auto", "stt-bad-device")],
)
def test_bad_compute_types_are_coded_errors(device: str, configured: str, code: str) -> None:
    with pytest.raises(SpeechToTextError) as err:
        compute_type_for(device, configured)
    assert err.value.code == code


def test_load_refuses_a_compute_type_the_device_cannot_run(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    cfg = msgspec.structs.replace(STT, compute_type="float16")
    with pytest.raises(SpeechToTextError) as err:
        WhisperStt.load(tmp_path, cfg)
    assert err.value.code == "stt-bad-compute-type"


GPU = msgspec.structs.replace(STT, device="cuda", compute_type="float16")


class FakeLoader:
    """The loader seam: records what it was asked for; refuses the devices in `refuse`
    (as CTranslate2 does without a CUDA driver), or makes models whose decode fails there."""

    def __init__(self, refuse: tuple[str, ...] = (), decode_fails_on: str = "") -> None:
        self.refuse = refuse
        self.decode_fails_on = decode_fails_on
        self.asked: list[tuple[str, str, int]] = []

    def __call__(self, path: str, **kw: Any) -> FakeWhisper:
        assert kw["local_files_only"] is True
        self.asked.append((kw["device"], kw["compute_type"], kw["cpu_threads"]))
        if kw["device"] in self.refuse:
            raise RuntimeError("CUDA failed with error no CUDA-capable device is detected")
        return FakeWhisper([], fail=kw["device"] == self.decode_fails_on)


def _model_dir(tmp_path: Path) -> Path:
    (tmp_path / "model.bin").write_bytes(b"")
    return tmp_path


def test_cuda_that_does_not_load_falls_back_to_int8_on_the_cpu(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loader = FakeLoader(refuse=("cuda",))
    with caplog.at_level("WARNING", logger="appliance.speech.stt"):
        stt = WhisperStt.load(_model_dir(tmp_path), GPU, loader=loader)
    assert loader.asked == [("cuda", "float16", 2), ("cpu", "int8", 2)]
    assert stt.fallback == "stt-cuda-unavailable" and stt.device == "cpu"
    assert stt.transcribe_pcm(bytes(3200), 16_000).text == ""  # it works, on the CPU
    [record] = [r for r in caplog.records if getattr(r, "code", None) == "stt-cuda-unavailable"]
    assert record.levelname == "WARNING" and record.__dict__["device"] == "cuda"
    assert "no CUDA-capable device" in record.__dict__["reason"]


def test_cuda_whose_first_decode_fails_falls_back_too(tmp_path: Path) -> None:
    """CUDA libraries (cuBLAS, cuDNN) load on the first decode, not with the model."""
    loader = FakeLoader(decode_fails_on="cuda")
    stt = WhisperStt.load(_model_dir(tmp_path), GPU, loader=loader)
    assert [a[0] for a in loader.asked] == ["cuda", "cpu"]
    assert stt.fallback == "stt-cuda-unavailable" and stt.device == "cpu"


def test_cuda_that_loads_is_used_and_no_fallback_is_reported(tmp_path: Path) -> None:
    loader = FakeLoader()
    stt = WhisperStt.load(_model_dir(tmp_path), GPU, loader=loader)
    assert loader.asked == [("cuda", "float16", 2)]
    assert stt.fallback is None and stt.device == "cuda"


def test_cpu_that_does_not_load_is_a_coded_error_without_a_retry(tmp_path: Path) -> None:
    loader = FakeLoader(refuse=("cpu",))
    with pytest.raises(SpeechToTextError) as err:
        WhisperStt.load(_model_dir(tmp_path), STT, loader=loader)
    assert err.value.code == "stt-load-failed"
    assert loader.asked == [("cpu", "int8", 2)]
    # and a model that loads on neither: the CPU's failure, after the fallback was tried
    loader = FakeLoader(refuse=("cuda", "cpu"))
    with pytest.raises(SpeechToTextError) as err:
        WhisperStt.load(_model_dir(tmp_path), GPU, loader=loader)
    assert err.value.code == "stt-load-failed"
    assert [a[0] for a in loader.asked] == ["cuda", "cpu"]


@pytest.mark.parametrize(
    ("segments", "text"),
    [
        # Whisper's loop on a short window: the whole sentence again, in one segment or two
        ([" Where should I park when I arrive? Where should I park when I arrive?"],
         "Where should I park when I arrive?"),
        ([" Where should I park?", " Where should I park?"], "Where should I park?"),
        # a caller's own repeats stay: short ones, and a sentence said again later
        ([" No. No. I said Tuesday."], "No. No. I said Tuesday."),
        ([" Today, today, is possible today?"], "Today, today, is possible today?"),
        ([" I need a refill. It is urgent. I need a refill."],
         "I need a refill. It is urgent. I need a refill."),
    ],
)  # fmt: skip
def test_a_sentence_whisper_repeats_right_after_itself_is_kept_once(
    segments: list[str], text: str
) -> None:
    stt = WhisperStt(FakeWhisper([Segment(s, -0.2, 0.1) for s in segments]), STT)
    assert stt.transcribe_pcm(bytes(3200), 16_000).text == text
    stt.close()


@pytest.mark.parametrize(
    "said",
    [
        " My number is 617.555.0142, and her temperature is 101.5.",
        " It's at 10.30, isn't it?  Yes.",
    ],
)
def test_a_transcript_without_a_loop_is_kept_exactly_as_whisper_wrote_it(said: str) -> None:
    stt = WhisperStt(FakeWhisper([Segment(said, -0.2, 0.1)]), STT)
    assert stt.transcribe_pcm(bytes(3200), 16_000).text == said.strip()
    stt.close()

"""The end-of-turn state machine, on scripted speech probabilities (one per 32 ms window)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt
import pytest

from appliance.audio import AudioChunk
from appliance.config import Vad
from appliance.domain import Utterance
from appliance.errors import VadError
from appliance.speech.vad import WINDOW, SileroTurnDetector

pytestmark = pytest.mark.unit

RATE = 16_000
FRAME = 320  # samples per 20 ms chunk
W = WINDOW / RATE  # s per window (0.032)
VAD = Vad(threshold=0.5, min_speech_ms=200, min_silence_ms=700, max_utterance_s=20.0)


class Scripted:
    """Returns the scripted probabilities in order (then 0.0); records every window."""

    def __init__(self, probs: Sequence[float]) -> None:
        self.probs = list(probs)
        self.windows: list[npt.NDArray[np.float32]] = []
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def probability(self, window: npt.NDArray[np.float32]) -> float:
        self.windows.append(window.copy())
        i = len(self.windows) - 1
        return self.probs[i] if i < len(self.probs) else 0.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def ramp(samples: int) -> bytes:
    """PCM whose sample i has value i % 30000, so positions can be read back from audio."""
    return (np.arange(samples) % 30000).astype("<i2").tobytes()


def run(
    det: SileroTurnDetector, seconds: float, t0: float = 50.0, chunk: int = FRAME
) -> list[tuple[int, Utterance]]:
    """Feed `seconds` of ramp audio in chunks; return (chunk index, utterance) found."""
    pcm = ramp(int(seconds * RATE))
    got = []
    step = chunk * 2
    for i in range(0, len(pcm) // step):
        piece = pcm[i * step : (i + 1) * step]
        utt = det.feed(AudioChunk(piece, RATE, t0 + i * chunk / RATE))
        if utt is not None:
            got.append((i, utt))
    return got


def first_sample(utt: Utterance) -> int:
    return int(np.frombuffer(utt.audio.pcm[:2], "<i2")[0])


def test_one_turn_boundaries_pre_roll_and_post_roll():
    probs = [0.0] * 20 + [0.9] * 30 + [0.0] * 40  # speech from window 20 to 50
    clock = FakeClock()
    det = SileroTurnDetector(VAD, clock=clock, model=Scripted(probs))
    got = run(det, 90 * W)
    assert len(got) == 1
    _, utt = got[0]
    assert utt.speech_start == pytest.approx(50.0 + 20 * W)
    assert utt.speech_end == pytest.approx(50.0 + 50 * W)
    assert utt.detected_at == 100.0
    assert utt.audio.rate == RATE
    assert utt.audio.timestamp == pytest.approx(utt.speech_start - 0.2)
    assert first_sample(utt) == 20 * WINDOW - 3200  # 0.2 s of pre-roll, sample-exact
    assert utt.audio.duration == pytest.approx(30 * W + 0.4)  # + 0.2 s after the last voice
    assert not det.speech_active


def test_end_of_turn_comes_after_min_silence():
    probs = [0.9] * 10 + [0.0] * 40
    det = SileroTurnDetector(VAD, model=Scripted(probs))
    got = run(det, 50 * W)
    (index, utt) = got[0]
    decided = (index + 1) * FRAME / RATE  # end of the chunk that ended the turn
    silence = decided - 10 * W
    assert 0.7 <= silence < 0.7 + W + FRAME / RATE
    assert utt.speech_end == pytest.approx(50.0 + 10 * W)


def test_speech_active_and_probability_follow_the_windows():
    det = SileroTurnDetector(VAD, model=Scripted([0.9] * 7 + [0.0] * 3))
    assert det.feed(AudioChunk(ramp(6 * WINDOW), RATE)) is None
    assert not det.speech_active and det.probability == 0.9  # 6 windows: 192 ms < 200 ms
    assert det.feed(AudioChunk(ramp(WINDOW), RATE)) is None
    assert det.speech_active
    det.reset()
    assert not det.speech_active


def test_a_blip_shorter_than_min_speech_is_not_a_turn():
    probs = ([0.0] * 10 + [0.9] * 6) * 5 + [0.0] * 40
    det = SileroTurnDetector(VAD, model=Scripted(probs))
    assert run(det, len(probs) * W) == []


def test_hysteresis_keeps_a_turn_through_middling_windows():
    probs = [0.9] * 10 + [0.4] * 40 + [0.9] * 5 + [0.0] * 30
    det = SileroTurnDetector(VAD, model=Scripted(probs))
    got = run(det, len(probs) * W)
    assert len(got) == 1
    assert got[0][1].speech_end == pytest.approx(50.0 + 55 * W)


def test_short_pauses_do_not_end_the_turn_but_long_ones_do():
    probs = [0.9] * 10 + [0.0] * 15 + [0.9] * 10 + [0.0] * 30 + [0.9] * 10 + [0.0] * 30
    det = SileroTurnDetector(VAD, model=Scripted(probs))
    got = run(det, len(probs) * W)
    assert [round(u.speech_start - 50.0, 3) for _, u in got] == [0.0, round(65 * W, 3)]
    assert got[0][1].speech_end == pytest.approx(50.0 + 35 * W)


def test_onset_moves_back_over_rising_windows():
    probs = [0.0] * 10 + [0.02, 0.1, 0.2, 0.3] + [0.9] * 10 + [0.0] * 30
    det = SileroTurnDetector(VAD, model=Scripted(probs))
    (_, utt) = run(det, len(probs) * W)[0]
    assert utt.speech_start == pytest.approx(50.0 + 11 * W)  # back to the 0.1 window


def test_long_speech_is_cut_at_max_utterance():
    vad = Vad(threshold=0.5, min_speech_ms=200, min_silence_ms=700, max_utterance_s=2.0)
    det = SileroTurnDetector(vad, model=Scripted([0.9] * 200))
    got = run(det, 200 * W)
    assert len(got) >= 2
    for _, utt in got:
        assert utt.speech_end - utt.speech_start == pytest.approx(2.0, abs=W)
    # consecutive pieces neither overlap nor leave a gap: no word is lost or said twice
    for (_, before), (_, after) in itertools.pairwise(got):
        assert after.audio.timestamp == pytest.approx(
            before.audio.timestamp + before.audio.duration
        )


def test_one_big_chunk_with_two_turns_gives_both_over_two_calls():
    probs = [0.9] * 10 + [0.0] * 30 + [0.9] * 10 + [0.0] * 30
    det = SileroTurnDetector(VAD, model=Scripted(probs))
    pcm = ramp(len(probs) * WINDOW)
    first = det.feed(AudioChunk(pcm, RATE, 10.0))
    second = det.feed(AudioChunk(bytes(640), RATE, 10.0 + len(probs) * W))
    assert first is not None and second is not None
    assert first.speech_start == pytest.approx(10.0)
    assert second.speech_start == pytest.approx(10.0 + 40 * W)
    assert first_sample(second) == 40 * WINDOW - 3200


def test_windows_are_consecutive_samples_across_chunks():
    model = Scripted([])
    det = SileroTurnDetector(VAD, model=model)
    run(det, 0.5)
    got = np.concatenate(model.windows)
    want = (np.arange(got.size) % 30000).astype(np.float32) / 32768
    assert np.array_equal(got, want)


def test_reset_forgets_audio_turn_and_model_state():
    model = Scripted([0.9] * 100)
    det = SileroTurnDetector(VAD, model=model)
    run(det, 10 * W)
    assert det.speech_active
    resets = model.resets
    det.reset()
    assert model.resets == resets + 1 and not det.speech_active and det.probability == 0.0


def test_wrong_rates_are_refused():
    with pytest.raises(VadError) as err:
        SileroTurnDetector(VAD, rate=8000, model=Scripted([]))
    assert err.value.code == "vad-bad-rate"
    det = SileroTurnDetector(VAD, model=Scripted([]))
    with pytest.raises(VadError):
        det.feed(AudioChunk(bytes(320), 8000))


def test_model_failures_are_wrapped(monkeypatch: pytest.MonkeyPatch):
    det = SileroTurnDetector(VAD)  # the real (shared) Silero session

    class Boom:
        def run(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("onnx exploded")

    monkeypatch.setattr(det._model, "_session", Boom())
    with pytest.raises(VadError) as err:
        for _ in range(3):
            det.feed(AudioChunk(bytes(640), RATE))
    assert err.value.code == "vad-failed"
    assert err.value.stage == "vad"


def test_warm_up_creates_the_shared_session_before_the_first_call() -> None:
    from appliance.speech import vad

    vad.warm_up()
    assert vad._session is not None  # the first call's detector reuses it
    assert vad.shared_session() is vad._session


def feed_tentatives(det: SileroTurnDetector, seconds: float) -> tuple[list, list]:
    """Like run(), also collecting tentative utterances: ([(i, tentative)], [(i, final)])."""
    pcm, step = ramp(int(seconds * RATE)), FRAME * 2
    tentatives, finals = [], []
    for i in range(len(pcm) // step):
        utt = det.feed(AudioChunk(pcm[i * step : (i + 1) * step], RATE, 50.0 + i * 0.02))
        if (early := det.tentative()) is not None:
            tentatives.append((i, early))
        if utt is not None:
            finals.append((i, utt))
    return tentatives, finals


def test_tentative_utterance_at_a_pause_matches_the_final_one() -> None:
    # 1 s of speech, a 0.4 s pause, 0.5 s of speech, then silence
    probs = [0.9] * 31 + [0.0] * 12 + [0.9] * 16 + [0.0] * 40
    vad = msgspec.structs.replace(VAD, early_stt_ms=300)
    det = SileroTurnDetector(vad, model=Scripted(probs))
    tentatives, finals = feed_tentatives(det, 3.5)
    [(_, final)] = finals
    assert len(tentatives) == 2  # one per pause of 300 ms: the short one, then the last
    (_, short), (i_last, last) = tentatives
    assert short.speech_end < final.speech_end  # the caller spoke on after the short pause
    assert last.speech_start == pytest.approx(final.speech_start)
    assert last.speech_end == pytest.approx(final.speech_end)
    assert last.audio == final.audio  # same audio: its transcript serves the final turn
    # offered 300 ms into the final silence, 400 ms before the turn ends (700 ms)
    assert (finals[0][0] - i_last) * 0.02 == pytest.approx(0.4, abs=0.041)


def test_no_tentative_utterances_when_off() -> None:
    probs = [0.9] * 31 + [0.0] * 40
    det = SileroTurnDetector(msgspec.structs.replace(VAD, early_stt_ms=0), model=Scripted(probs))
    tentatives, finals = feed_tentatives(det, 2.5)
    assert tentatives == [] and len(finals) == 1


def test_commit_ends_the_turn_at_the_pause_with_the_tentative_span() -> None:
    # 1 s of speech, then silence: the session commits right after the tentative
    probs = [0.9] * 31 + [0.0] * 60
    det = SileroTurnDetector(msgspec.structs.replace(VAD, early_stt_ms=300), model=Scripted(probs))
    pcm = ramp(int(3.0 * RATE))
    assert det.commit() is None  # no turn yet
    committed: list[Utterance] = []
    for i in range(len(pcm) // (FRAME * 2)):
        assert (
            det.feed(AudioChunk(pcm[i * FRAME * 2 : (i + 1) * FRAME * 2], RATE, 50.0 + i * 0.02))
            is None
        )
        if (early := det.tentative()) is not None:
            utt = det.commit()
            assert utt is not None
            assert utt.audio == early.audio and utt.speech_end == pytest.approx(early.speech_end)
            committed.append(utt)
            assert not det.speech_active  # the turn is over: the rest of the silence ends none
            assert det.commit() is None  # once
    assert len(committed) == 1


def test_no_commit_once_the_caller_speaks_on() -> None:
    # 1 s of speech, a 0.4 s pause (tentative), then speech again: the pause is over
    probs = [0.9] * 31 + [0.0] * 12 + [0.9] * 16 + [0.0] * 40
    det = SileroTurnDetector(msgspec.structs.replace(VAD, early_stt_ms=300), model=Scripted(probs))
    pcm = ramp(int(2.0 * RATE))
    seen_tentative = False
    for i in range(len(pcm) // FRAME):
        det.feed(AudioChunk(pcm[i * FRAME : (i + 1) * FRAME], RATE, 50.0 + i * 0.02))
        seen_tentative = seen_tentative or det.tentative() is not None
        if seen_tentative and det.probability >= 0.5:  # speaking again
            assert det.commit() is None
            return
    pytest.fail("the caller never spoke on")

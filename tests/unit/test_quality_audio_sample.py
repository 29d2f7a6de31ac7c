"""The quality audio sample's decision (a hash draw per call, oversampling), its settings
(coded errors), the disclosure sentence while it is on, and the in-memory hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.audio import AudioChunk
from appliance.config import load_settings
from appliance.conversation.audio_keep import MAX_HELD_S, AudioSampling, HeldAudio
from appliance.conversation.prompts import clinic_prompts
from appliance.domain import CallId, EventKind, SessionEvent
from appliance.errors import ConfigError
from appliance.governance.consent import QUALITY_RECORDING
from appliance.quality.audio_sample import (
    ESCALATED,
    FAILED,
    LOW_CONFIDENCE,
    SAMPLED,
    AudioSamplePolicy,
    CallSignals,
    draw,
)

pytestmark = pytest.mark.unit

IDS = [f"call-{i:05d}" for i in range(20_000)]


def test_the_draw_is_a_deterministic_uniform_hash_of_the_call_id() -> None:
    assert draw("abc") == draw("abc") != draw("abd")
    values = [draw(i) for i in IDS]
    assert all(0.0 <= v < 1.0 for v in values)
    for share in (0.1, 0.5):  # about `share` of the calls fall below it
        kept = sum(v < share for v in values) / len(values)
        assert abs(kept - share) < 0.02, (share, kept)


def test_a_share_of_plain_calls_is_kept_and_oversampled_calls_more_often() -> None:
    policy = AudioSamplePolicy(share=0.1, oversample=0.6, low_logprob=-0.7)
    plain = CallSignals("completed", min_logprob=-0.2)
    reasons = [policy.keep(i, plain) for i in IDS]
    assert set(reasons) == {SAMPLED, None}
    assert abs(reasons.count(SAMPLED) / len(IDS) - 0.1) < 0.02
    for signals, reason in (
        (CallSignals("failed"), FAILED),
        (CallSignals("completed", stage_failed=True), FAILED),
        (CallSignals("completed", escalated=True), ESCALATED),
        (CallSignals("completed", min_logprob=-1.2), LOW_CONFIDENCE),
    ):
        kept = [policy.keep(i, signals) for i in IDS]
        assert set(kept) == {reason, None}
        assert abs(kept.count(reason) / len(IDS) - 0.6) < 0.02
    # the same call gets the same answer; a call kept as a plain sample is kept oversampled
    some = next(i for i in IDS if policy.keep(i, plain) == SAMPLED)
    assert policy.keep(some, CallSignals("failed")) == FAILED


def test_a_logprob_at_the_bound_is_not_low_confidence() -> None:
    policy = AudioSamplePolicy(share=0.0, oversample=1.0, low_logprob=-0.7)
    assert policy.keep("x", CallSignals("completed", min_logprob=-0.7)) is None
    assert policy.keep("x", CallSignals("completed", min_logprob=-0.71)) == LOW_CONFIDENCE
    assert policy.keep("x", CallSignals("completed")) is None  # no caller turn


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "appliance.toml"
    config.write_text(text, "utf-8")
    return config


def test_the_sample_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    s = load_settings()
    assert s.quality.audio_sample is False and s.retention.audio_days == 14
    assert AudioSamplePolicy.from_settings(s.quality) is None
    assert QUALITY_RECORDING not in clinic_prompts("C", "9 to 5").greeting


def test_when_on_the_disclosure_says_calls_may_be_recorded(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "[quality]\naudio_sample = true\naudio_sample_share = 0.2\n"))
    assert AudioSamplePolicy.from_settings(s.quality) == AudioSamplePolicy(0.2, 0.5, -0.7)
    greeting = clinic_prompts("C", "9 to 5", quality_recording=s.quality.audio_sample).greeting
    assert greeting.startswith("You're speaking with the automated assistant of C.")
    assert QUALITY_RECORDING in greeting and greeting.index("AI system") < greeting.index(
        QUALITY_RECORDING
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[quality]\naudio_sample_share = 1.5\n", "config-quality-share"),
        ("[quality]\naudio_sample_share = -0.1\n", "config-quality-share"),
        ("[quality]\naudio_oversample = nan\n", "config-quality-share"),
        (
            "[quality]\naudio_sample_share = 0.6\naudio_oversample = 0.5\n",
            "config-quality-oversample",
        ),
        ("[quality]\naudio_low_logprob = 0.5\n", "config-quality-logprob"),
        ("[retention]\naudio_days = 0\n", "config-retention-audio-days"),
        ("[retention]\naudio_days = 120\n", "config-retention-audio-days"),
        ("[store]\ntranscript_retention_days = 7\n", "config-retention-audio-days"),
        ('[quality]\naudio_sample = "yes"\n', "config-invalid"),
        ("[quality]\naudio_share = 0.1\n", "config-invalid"),  # a misspelt key
    ],
)
def test_bad_sample_settings_are_coded_config_errors(tmp_path: Path, text: str, code: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    assert err.value.code == code


class NoSink:
    async def keep_audio(self, call_id: str, reason: str, turns: object) -> None:
        raise AssertionError("nothing is written in these tests")


def test_nothing_is_held_while_the_sample_is_off() -> None:
    held = HeldAudio("c", None)
    held.hold(1, AudioChunk(bytes(3200), 16_000), -0.2)
    assert held.turns == [] and held.min_logprob is None


def test_the_hold_is_capped_and_tracks_the_lowest_logprob() -> None:
    held = HeldAudio("c", AudioSampling(AudioSamplePolicy(), NoSink()))
    minute = AudioChunk(bytes(16_000 * 2 * 60), 16_000)
    for seq in range(1, 20):
        held.hold(seq, minute, -0.1 * seq)
    assert len(held.turns) == int(MAX_HELD_S // 60) and held.min_logprob == pytest.approx(-1.9)
    events = [SessionEvent(CallId("c"), EventKind.TRANSFER_REQUESTED, 0.0, code="caller-request")]
    signals = held.signals("completed", events)
    assert signals.escalated and not signals.stage_failed

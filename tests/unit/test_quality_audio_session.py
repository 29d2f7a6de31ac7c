"""The quality audio sample in a call on virtual time, with the real SQLCipher store: the
caller turns' utterance audio is held during the call and written at its end only when
the call is kept (a sample, or an oversampled failed/escalated/low-confidence call); audio
during the PCI pause never reaches the hold."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from appliance.audio import AudioChunk
from appliance.conversation.audio_keep import AudioSampling
from appliance.conversation.session import CallSession
from appliance.domain import Transcript, Utterance
from appliance.ports import TurnAudio
from appliance.quality.audio_sample import AudioSamplePolicy
from appliance.quality.audio_store import StoredAudio
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.fakes import FakeCall, FakeClock, FakeLlm, FakeStt, session_deps
from tests.unit.test_pci import CARD, COLLECT, PayingCall, paying_call

pytestmark = pytest.mark.unit

KEEP_ALL = AudioSamplePolicy(share=1.0, oversample=1.0)
KEEP_NONE = AudioSamplePolicy(share=0.0, oversample=0.0)
ONLY_OVERSAMPLED = AudioSamplePolicy(share=0.0, oversample=1.0, low_logprob=-0.7)
MARK = (0x5A5A).to_bytes(2, "little", signed=True) * 320  # 20 ms the payment pause hears


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Database, CallRepository]]:
    db = Database.open(tmp_path / "calls.db", "ab" * 32, MIGRATIONS)
    yield db, CallRepository(db)
    db.close()


class ClockedSink:
    """The real store's sink, virtual time held while its thread writes."""

    def __init__(self, inner: StoredAudio, clock: FakeClock) -> None:
        self._inner, self._clock = inner, clock

    async def keep_audio(self, call_id: str, reason: str, turns: Sequence[TurnAudio]) -> None:
        async def held() -> None:
            with self._clock.busy():
                await self._inner.keep_audio(call_id, reason, turns)

        await asyncio.shield(held())


def sampling(db: Database, clock: FakeClock, policy: AudioSamplePolicy) -> AudioSampling:
    return AudioSampling(policy, ClockedSink(StoredAudio(db, clock.time), clock))


def stored(db: Database) -> list[tuple[Any, ...]]:
    return db.query(
        lambda c: c.execute(
            "SELECT a.turn_seq, a.reason, a.rate, a.pcm, t.speaker FROM turn_audio a"
            " JOIN turns t ON t.call_id = a.call_id AND t.seq = a.turn_seq ORDER BY 1"
        ).fetchall()
    )


class HeardStt(FakeStt):
    """Remembers each utterance's PCM; `logprob` is every transcript's avg logprob."""

    def __init__(self, *args: Any, logprob: float = -0.2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pcm: list[bytes] = []
        self.logprob = logprob

    async def transcribe(self, utterance: Utterance) -> Transcript:
        self.pcm.append(utterance.audio.pcm)
        heard = await super().transcribe(utterance)
        return dataclasses.replace(heard, avg_logprob=self.logprob)


async def a_call(
    clock: FakeClock, db: Database, repo: CallRepository, policy: AudioSamplePolicy, logprob: float
) -> tuple[str, HeardStt]:
    stt = HeardStt(clock, ["What are your opening hours?", "Thanks, goodbye."], logprob=logprob)
    llm = FakeLlm(clock, ["We are open weekdays. Is there anything else?"])
    deps, _ = await session_deps(clock, repo, stt, llm)
    deps = dataclasses.replace(deps, audio_sample=sampling(db, clock, policy))
    outcome = await clock.run(CallSession(FakeCall(clock, answers=2), deps).run())
    return outcome, stt


async def test_a_kept_call_stores_each_caller_turns_stt_audio(store, clock) -> None:
    db, repo = store
    outcome, stt = await a_call(clock, db, repo, KEEP_ALL, -0.2)
    rows = stored(db)
    assert outcome == "completed" and len(stt.pcm) == 2
    assert [r[4] for r in rows] == ["caller", "caller"] and {r[1] for r in rows} == {"sampled"}
    assert [bytes(r[3]) for r in rows] == stt.pcm and all(r[2] == 16_000 for r in rows)
    kept = db.query(
        lambda c: c.execute(
            "SELECT actor, object_id, reason_code, call_id FROM audit"
            " WHERE action = 'quality.audio-kept'"
        ).fetchall()
    )
    assert kept == [("agent", "2", "sampled", "fake-call")]


async def test_a_call_not_drawn_is_dropped(store, clock) -> None:
    db, repo = store
    outcome, stt = await a_call(clock, db, repo, KEEP_NONE, -2.0)
    assert outcome == "completed" and len(stt.pcm) == 2 and stored(db) == []


async def test_a_low_confidence_call_is_oversampled(store, clock) -> None:
    db, repo = store
    await a_call(clock, db, repo, ONLY_OVERSAMPLED, -0.2)  # confident: not kept
    assert stored(db) == []
    db2 = Database.open(Path(str(db.path) + "-2"), "ab" * 32, MIGRATIONS)
    try:
        await a_call(clock, db2, CallRepository(db2), ONLY_OVERSAMPLED, -1.5)
        assert {r[1] for r in stored(db2)} == {"low-confidence"} and len(stored(db2)) == 2
    finally:
        db2.close()


class MarkedPayingCall(PayingCall):
    """A paying caller whose voice, while the PCI pause is on, is a marked waveform (the
    card number spoken aloud): none of it may reach the store."""

    session: CallSession | None = None

    async def frames(self) -> AsyncIterator[AudioChunk]:
        async for chunk in super().frames():
            paying = self.session is not None and self.session.caller.payment.active
            if paying and any(chunk.pcm):
                self.marked += 1
                chunk = AudioChunk(MARK, chunk.rate, chunk.timestamp)
            yield chunk

    marked = 0


async def test_audio_during_the_pci_pause_is_never_held_or_stored(
    store, clock, monkeypatch
) -> None:
    db, repo = store
    call = MarkedPayingCall(clock, CARD, answers=4, answer_s=2.0)
    original = CallSession.__init__

    def init(self: CallSession, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        call.session = self

    monkeypatch.setattr(CallSession, "__init__", init)
    import tests.unit.test_pci as pci_tests

    real_deps = pci_tests.session_deps

    async def with_sample(*args: Any, **kwargs: Any) -> Any:
        deps, observed = await real_deps(*args, **kwargs)
        return dataclasses.replace(deps, audio_sample=sampling(db, clock, KEEP_ALL)), observed

    monkeypatch.setattr(pci_tests, "session_deps", with_sample)
    lines = ["I want to pay my bill.", "What time do you open?", "Goodbye."]
    session, *_ = await paying_call(clock, repo, COLLECT, lines, call)
    assert session.caller.payment.count == 16 and call.marked > 10  # spoke during the pause
    rows = stored(db)
    caller_turns = [t.seq for t in repo.turns("fake-call") if t.speaker == "caller"]
    assert [r[0] for r in rows] == caller_turns and len(rows) == 3
    assert all(MARK[:64] not in bytes(r[3]) for r in rows)
    assert all(any(bytes(r[3])) for r in rows)  # the turns' own speech was kept

"""The quality sample's audio in the real SQLCipher store opened from the settings: the
file holds it encrypted, the retention purge deletes it after `[retention] audio_days` on
an injected clock (audited, counts only), and it goes with its call and with its turn's
text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from appliance.audio import AudioChunk
from appliance.config import Settings, load_settings
from appliance.governance.retention import DAY_S, RetentionPolicy, purge
from appliance.ports import TurnAudio
from appliance.quality.audio_store import StoredAudio, sampled_seqs, turn_audio
from appliance.services.app_db import MIGRATIONS
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.conftest import store_config

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0
# caller audio with a 64-byte signature that cannot occur by chance in an encrypted page
VOICE = (b"QUALITY-AUDIO-CANARY-" + bytes(range(43))) * 100


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    config = store_config(
        tmp_path,
        "transcript_retention_days = 30",
        "[retention]\ncall_days = 365\naudio_days = 14\n[quality]\naudio_sample = true\n",
    )
    return load_settings(config)


async def kept_call(db: Database, call_id: str, days_ago: float) -> None:
    """An ended call `days_ago` days before NOW whose caller turn (seq 1) was kept."""
    repo, t = CallRepository(db), NOW - days_ago * DAY_S
    await repo.start_call(call_id, t, "PCMU", "h")
    await repo.add_turn(call_id, "caller", "my knee hurts", t, t + 2, {})
    await repo.add_turn(call_id, "agent", "Sorry to hear.", t + 3, t + 4, {})
    await repo.end_call(call_id, t + 5, "completed")
    turns = [TurnAudio(1, AudioChunk(VOICE, 16_000)), TurnAudio(2, AudioChunk(VOICE, 16_000))]
    await StoredAudio(db, lambda: t + 6).keep_audio(call_id, "sampled", turns)


def kept(db: Database) -> dict[str, set[int]]:
    ids = db.query(lambda c: [r[0] for r in c.execute("SELECT call_id FROM calls")])
    return {i: s for i in ids if (s := db.query(sampled_seqs, i))}


def test_the_audio_is_stored_encrypted_and_read_back(settings: Settings) -> None:
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        asyncio.run(kept_call(db, "c1", 1))
        assert kept(db) == {"c1": {1}}  # the agent's turn is never kept
        chunk = db.query(turn_audio, "c1", 1)
        assert chunk is not None and chunk.pcm == VOICE and chunk.rate == 16_000
        db.checkpoint()
    finally:
        db.close()
    raw = b"".join(p.read_bytes() for p in settings.var_dir.rglob("appliance.db*"))
    assert len(raw) > len(VOICE) and VOICE[:64] not in raw


def test_the_purge_deletes_audio_older_than_audio_days(settings: Settings) -> None:
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        for call_id, days in (("a15", 15), ("b13", 13), ("c1", 1)):
            asyncio.run(kept_call(db, call_id, days))
        report = purge(db, RetentionPolicy.from_settings(settings), now=NOW, clock_checked=True)
        left = kept(db)
        texts = db.query(
            lambda c: c.execute("SELECT count(*) FROM turns WHERE text != ''").fetchone()[0]
        )
        audited = db.query(
            lambda c: c.execute(
                "SELECT object_id, reason_code FROM audit"
                " WHERE action = 'retention.purge' AND object_type = 'audio'"
            ).fetchall()
        )
    finally:
        db.close()
    assert report.counts["audio"] == 1 and report.counts["turn-text"] == 0
    assert left == {"b13": {1}, "c1": {1}}  # 15 days > 14: gone; the turns stay
    assert texts == 6  # the turns' text is kept longer (30 days)
    assert audited == [("1", "older-than-14d")]


def test_the_audio_goes_with_its_call_and_with_its_turns_text(settings: Settings) -> None:
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        for call_id in ("gone", "purged", "kept"):
            asyncio.run(kept_call(db, call_id, 1))
        db.execute(lambda c: c.execute("DELETE FROM turns WHERE call_id = 'gone'"))
        db.execute(lambda c: c.execute("DELETE FROM calls WHERE call_id = 'gone'"))
        db.execute(
            lambda c: c.execute(
                "UPDATE turns SET text = '', purged_at = 1 WHERE call_id = 'purged'"
            )
        )
        assert kept(db) == {"kept": {1}}
        orphans = db.query(lambda c: c.execute("SELECT count(*) FROM turn_audio").fetchone()[0])
        assert orphans == 1
    finally:
        db.close()

"""The quality sample's caller audio in the encrypted store (migration 17).

`turn_audio`: one row per kept caller turn: the utterance audio that went to STT (PHI:
the caller's voice), as s16le mono PCM at `rate` Hz, with the reason its call was kept
(appliance/quality/audio_sample.py) and when the turn was spoken (`spoken_at`, copied from
the turn). Never text. Like the rest of the store it is encrypted by SQLCipher and
written with `secure_delete`, so deleted audio is overwritten.

Rows go with their turn (ON DELETE CASCADE: the call purge, or any delete of the call),
when the turn's text is purged (a trigger on turns.purged_at), and after `[retention]
audio_days` (class "audio" of the retention purge, by `spoken_at`). Keeping a call's
audio appends one audit record (`quality.audio-kept`: the call, the reason code, the
turn count); playing a turn (the console) appends `phi.read` naming the user.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from appliance.audio import AudioChunk, write_wav
from appliance.errors import ApplianceError
from appliance.ports import TurnAudio
from appliance.quality.audio_sample import REASONS
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

AUDIO_VERSION = 17  # the user_version this migration leaves
CODEC = "pcm_s16le"

AUDIO_MIGRATION = Migration(
    AUDIO_VERSION,
    """
    CREATE TABLE turn_audio (
        call_id   TEXT NOT NULL,
        turn_seq  INTEGER NOT NULL,
        codec     TEXT NOT NULL CHECK (codec = 'pcm_s16le'),
        rate      INTEGER NOT NULL CHECK (rate > 0),
        reason    TEXT NOT NULL,       -- why the call was kept (a code)
        spoken_at REAL NOT NULL,       -- UNIX s: the turn's start (the retention purge)
        kept_at   REAL NOT NULL,       -- UNIX s
        pcm       BLOB NOT NULL,       -- PHI: the caller's voice
        PRIMARY KEY (call_id, turn_seq),
        FOREIGN KEY (call_id, turn_seq) REFERENCES turns(call_id, seq) ON DELETE CASCADE
    );
    CREATE INDEX turn_audio_spoken ON turn_audio(spoken_at);
    CREATE TRIGGER turn_audio_purged AFTER UPDATE OF purged_at ON turns
    WHEN NEW.purged_at IS NOT NULL
    BEGIN
        DELETE FROM turn_audio WHERE call_id = NEW.call_id AND turn_seq = NEW.seq;
    END;
    """,
)


def keep_turns(
    conn: Connection,
    call_id: str,
    reason: str,
    turns: Sequence[TurnAudio],
    now: float,
    audit: tuple[Any, int] = (None, 100),
) -> int:
    """Store the caller turns' audio of `call_id` (caller turns of this call only; a turn
    already kept is left as it is); audited once. Returns the rows written."""
    if reason not in REASONS:
        raise ApplianceError("quality-audio-bad-reason", "unknown reason for keeping audio")
    written = 0
    for t in turns:
        cur = conn.execute(
            "INSERT OR IGNORE INTO turn_audio"
            " (call_id, turn_seq, codec, rate, reason, spoken_at, kept_at, pcm)"
            " SELECT call_id, seq, ?, ?, ?, started_at, ?, ? FROM turns"
            " WHERE call_id = ? AND seq = ? AND speaker = 'caller' AND purged_at IS NULL",
            (CODEC, t.audio.rate, reason, now, t.audio.pcm, call_id, t.seq),
        )
        written += max(cur.rowcount, 0)
    signer, every = audit
    event = AuditEvent(
        actor="agent",
        actor_role="system",
        action="quality.audio-kept",
        object_type="call",
        object_id=str(written),
        reason_code=reason,
        call_id=call_id,
        component="quality",
        at=now,
    )
    append_audit(conn, event, signer, every)
    return written


class StoredAudio:
    """The store as the session's `AudioSink`."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db, self._clock = db, clock

    async def keep_audio(self, call_id: str, reason: str, turns: Sequence[TurnAudio]) -> None:
        db = self._db
        signer = (db.audit_signer, db.audit_checkpoint_every)
        await db.run(keep_turns, call_id, reason, list(turns), self._clock(), signer)


def sampled_seqs(conn: Connection, call_id: str) -> set[int]:
    """The call's turns that have audio (metadata: no audio is read)."""
    rows = conn.execute("SELECT turn_seq FROM turn_audio WHERE call_id = ?", (call_id,))
    return {int(r[0]) for r in rows.fetchall()}


def turn_audio(conn: Connection, call_id: str, seq: int) -> AudioChunk | None:
    """One kept turn's audio (PHI), or None."""
    row = conn.execute(
        "SELECT rate, pcm FROM turn_audio WHERE call_id = ? AND turn_seq = ?", (call_id, seq)
    ).fetchone()
    return None if row is None else AudioChunk(bytes(row[1]), int(row[0]))


def turn_wav(conn: Connection, call_id: str, seq: int) -> bytes | None:
    """One kept turn's audio as a WAV file, or None."""
    chunk = turn_audio(conn, call_id, seq)
    return None if chunk is None else write_wav(chunk)


def purge_audio(conn: Connection, cutoff: float) -> int:
    """Delete audio of turns spoken before `cutoff` (UNIX s); the rows deleted."""
    cur = conn.execute("DELETE FROM turn_audio WHERE spoken_at < ?", (cutoff,))
    return max(cur.rowcount, 0)

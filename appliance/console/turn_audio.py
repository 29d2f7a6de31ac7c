"""The quality reviewer's side of the audio sample on a call's transcript page: which
turns have audio, one turn's audio as WAV (PHI: audited as `phi.read` naming the user,
object the turn, reason "audio", before it is returned), and a correction of a turn's
transcript, stored and audited by the WER code (appliance/quality/wer_store.py) so that
it counts in the weekly WER of corrections."""

from __future__ import annotations

from appliance.console.accounts import Actor, Clock, audit
from appliance.errors import ApplianceError, ConsoleError
from appliance.quality.audio_store import sampled_seqs, turn_wav
from appliance.quality.wer_store import store_correction
from appliance.store.db import Connection, Database

MAX_CORRECTION = 2000  # characters of a corrected turn at most


def sampled(db: Database, call_id: str) -> set[int]:
    """The call's turns with kept audio (no audio is read)."""
    return db.query(sampled_seqs, call_id)


def play(db: Database, call_id: str, seq: int, by: Actor, clock: Clock) -> bytes | None:
    """Turn `seq`'s audio as WAV, audited first; None when the turn has none."""
    return db.execute(_play, db, call_id, seq, by, clock())


def _play(
    conn: Connection, db: Database, call_id: str, seq: int, by: Actor, now: float
) -> bytes | None:
    wav = turn_wav(conn, call_id, seq)
    if wav is not None:
        audit(
            db,
            conn,
            by,
            "phi.read",
            object_type="turn",
            object_id=f"{call_id}:{seq}",
            call_id=call_id,
            reason_code="audio",
            at=now,
        )
    return wav


def correct(db: Database, call_id: str, seq: str, text: str, by: Actor) -> int:
    """Store the reviewer's correction of caller turn `seq`; its seq. Raises
    ConsoleError with the quality code (quality-no-turn, quality-not-caller-turn,
    quality-turn-purged, quality-empty-correction) or console-bad-turn."""
    if not seq.isdigit() or len(seq) > 9:
        raise ConsoleError("console-bad-turn", "the turn number is not a number")
    if len(text) > MAX_CORRECTION:
        raise ConsoleError("console-correction-long", "the corrected text is too long")
    try:
        store_correction(db, call_id, int(seq), text, by.name, (by.role, by.component))
    except ApplianceError as exc:
        raise ConsoleError(exc.code, exc.message) from exc
    return int(seq)

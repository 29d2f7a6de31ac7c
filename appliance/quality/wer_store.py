"""WER in the encrypted store: measured runs (counts only) and reviewers' corrections.

`wer_runs`: one row per WER measurement, never updated: the synthetic golden set
(source "synthetic", appliance/quality/wer_golden.py) or a week of reviewer corrections
(source "corrections", its ISO week in `period`). Counts, rates and a JSON description of
what was measured (model, voice, SNR...): no words.

`transcript_corrections`: what a reviewer says a caller turn really said (PHI, like the
turn's own text, in the SQLCipher store), who and when. The latest correction of a turn
counts. A correction lives as long as its turn's text: deleted with the turn (ON DELETE
CASCADE) and when the retention purge empties the turn's text (a trigger on
turns.purged_at), so the purge needs no change. Writing one appends `phi.read` (the
turn's transcript is read to score it) and `phi.write` audit records in the same
transaction, naming the reviewer and the turn, never the text.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from appliance.errors import ApplianceError
from appliance.quality.wer import WerSummary
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration

WER_VERSION = 16  # the user_version this migration leaves
SOURCES = ("synthetic", "corrections")

WER_MIGRATION = Migration(
    WER_VERSION,
    """
    CREATE TABLE wer_runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        source        TEXT NOT NULL CHECK (source IN ('synthetic', 'corrections')),
        period        TEXT,                 -- ISO week (corrections), NULL (synthetic)
        run_at        REAL NOT NULL,        -- UNIX s
        samples       INTEGER NOT NULL,     -- lines or corrected turns
        ref_words     INTEGER NOT NULL,
        errors        INTEGER NOT NULL,     -- substitutions + deletions + insertions
        wer           REAL,
        ci_low        REAL,                 -- 95 % bootstrap interval
        ci_high       REAL,
        entities      INTEGER NOT NULL,
        entity_errors INTEGER NOT NULL,
        config        TEXT NOT NULL         -- JSON: what was measured, no words
    );
    CREATE INDEX wer_runs_source ON wer_runs(source, run_at);
    CREATE TRIGGER wer_runs_no_update BEFORE UPDATE ON wer_runs
    BEGIN SELECT RAISE(ABORT, 'wer runs are immutable'); END;
    CREATE TABLE transcript_corrections (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id      TEXT NOT NULL,
        turn_seq     INTEGER NOT NULL,
        reviewer     TEXT NOT NULL,
        corrected_at REAL NOT NULL,         -- UNIX s
        text         TEXT NOT NULL,         -- PHI: what the caller said
        FOREIGN KEY (call_id, turn_seq) REFERENCES turns(call_id, seq) ON DELETE CASCADE
    );
    CREATE INDEX transcript_corrections_turn ON transcript_corrections(call_id, turn_seq);
    CREATE TRIGGER transcript_corrections_purged AFTER UPDATE OF purged_at ON turns
    WHEN NEW.purged_at IS NOT NULL
    BEGIN
        DELETE FROM transcript_corrections
        WHERE call_id = NEW.call_id AND turn_seq = NEW.seq;
    END;
    """,
)


@dataclass(frozen=True, slots=True)
class WerRun:
    id: int
    source: str
    period: str | None
    run_at: float
    summary: WerSummary
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CorrectedTurn:
    """A caller turn's transcript and its latest correction (PHI: never log)."""

    call_id: str
    seq: int
    transcript: str
    corrected: str


def insert_run(
    conn: Connection,
    source: str,
    summary: WerSummary,
    config: dict[str, Any],
    period: str | None = None,
    run_at: float | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO wer_runs (source, period, run_at, samples, ref_words, errors, wer,"
        " ci_low, ci_high, entities, entity_errors, config)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source,
            period,
            time.time() if run_at is None else run_at,
            summary.samples,
            summary.ref_words,
            summary.errors,
            summary.wer,
            summary.ci_low,
            summary.ci_high,
            summary.entities,
            summary.entity_errors,
            json.dumps(config, sort_keys=True),
        ),
    )
    return int(cur.lastrowid or 0)


def latest_run(conn: Connection, source: str) -> WerRun | None:
    row = conn.execute(
        "SELECT id, source, period, run_at, samples, ref_words, errors, wer, ci_low, ci_high,"
        " entities, entity_errors, config FROM wer_runs WHERE source = ?"
        " ORDER BY run_at DESC, id DESC LIMIT 1",
        (source,),
    ).fetchone()
    if row is None:
        return None
    samples, ref_words, errors, wer, low, high, entities, entity_errors = row[4:12]
    summary = WerSummary(
        samples=samples,
        ref_words=ref_words,
        errors=errors,
        entities=entities,
        entity_errors=entity_errors,
        wer=wer,
        ci_low=low,
        ci_high=high,
    )
    return WerRun(int(row[0]), str(row[1]), row[2], float(row[3]), summary, json.loads(row[12]))


def correct_turn(
    conn: Connection,
    call_id: str,
    seq: int,
    text: str,
    reviewer: str,
    audit: tuple[Any, int] = (None, 100),
    by: tuple[str, str] = ("quality-reviewer", "cli"),
) -> CorrectedTurn:
    """Store `text` as the correction of caller turn `seq` of `call_id`, audited (phi.read
    and phi.write, the reviewer named; `by`: the reviewer's role and the component, the
    CLI or the console); raises quality-no-turn, quality-not-caller-turn,
    quality-turn-purged, quality-empty-correction."""
    if not text.strip():
        raise ApplianceError("quality-empty-correction", "the corrected text is empty")
    row = conn.execute(
        "SELECT speaker, text, purged_at FROM turns WHERE call_id = ? AND seq = ?",
        (call_id, seq),
    ).fetchone()
    if row is None:
        raise ApplianceError("quality-no-turn", "no such turn in this store")
    if row[0] != "caller":
        raise ApplianceError("quality-not-caller-turn", "only caller turns are transcribed")
    if row[2] is not None:
        raise ApplianceError("quality-turn-purged", "the turn's text was purged (retention)")
    now = time.time()
    conn.execute(
        "INSERT INTO transcript_corrections (call_id, turn_seq, reviewer, corrected_at, text)"
        " VALUES (?, ?, ?, ?, ?)",
        (call_id, seq, reviewer, now, text.strip()),
    )
    signer, every = audit
    for action in ("phi.read", "phi.write"):
        event = AuditEvent(
            actor=reviewer,
            actor_role=by[0],
            action=action,
            object_type="turn",
            object_id=f"{call_id}:{seq}",
            call_id=call_id,
            component=by[1],
            at=now,
        )
        append_audit(conn, event, signer, every)
    return CorrectedTurn(call_id, seq, str(row[1]), text.strip())


def store_correction(
    db: Database,
    call_id: str,
    seq: int,
    text: str,
    reviewer: str,
    by: tuple[str, str] = ("quality-reviewer", "cli"),
) -> CorrectedTurn:
    """`correct_turn` in one write transaction, with the store's audit signer."""
    signer = (db.audit_signer, db.audit_checkpoint_every)
    return db.execute(correct_turn, call_id, seq, text, reviewer, signer, by)


def week_bounds(week: str) -> tuple[float, float]:
    """ "2026-W49" -> UNIX s of its Monday 00:00 UTC and of the next Monday; raises
    quality-bad-week."""
    try:
        year, number = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError as exc:
        raise ApplianceError("quality-bad-week", "--week takes YYYY-Www, e.g. 2026-W49") from exc
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC).timestamp()
    return start, start + 7 * 86400.0


def corrected_turns(conn: Connection, since: float, until: float) -> list[CorrectedTurn]:
    """Caller turns spoken in [since, until) with a correction, the latest of each."""
    rows = conn.execute(
        "SELECT t.call_id, t.seq, t.text, c.text FROM turns t"
        " JOIN transcript_corrections c ON c.call_id = t.call_id AND c.turn_seq = t.seq"
        " WHERE t.speaker = 'caller' AND t.started_at >= ? AND t.started_at < ?"
        " AND c.id = (SELECT MAX(id) FROM transcript_corrections"
        "             WHERE call_id = t.call_id AND turn_seq = t.seq)"
        " ORDER BY t.call_id, t.seq",
        (since, until),
    ).fetchall()
    return [CorrectedTurn(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

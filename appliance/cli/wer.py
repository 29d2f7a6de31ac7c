"""`appliance quality wer-golden | correct | wer`: the WER of the synthetic golden set,
reviewers' transcript corrections, and the WER of a week's corrections.

`wer-golden` speaks the shipped golden set with the local voice through a telephone
channel into the STT as the agent loads it (appliance/quality/wer_golden.py) and stores
the result as a synthetic WER run. `correct CALL_ID TURN_SEQ --text ...` stores what a
caller turn really said (the reviewer is the login name; audited phi.read and
phi.write); a correction equal to the transcript confirms it. `wer --week YYYY-Www`
scores the week's corrected caller turns (by when they were spoken), prints n, WER with
its 95 % interval and the entity error rate, and stores them as a corrections run.
Output: counts and rates, no words (but `correct`, which shows the turn it changed).
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime
from typing import Any

from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.quality.wer import WerSummary, score_line, summarise
from appliance.quality.wer_golden import Channel, GoldenRun, load_lines, run_golden
from appliance.quality.wer_store import (
    corrected_turns,
    insert_run,
    store_correction,
    week_bounds,
)
from appliance.store.db import Database

COMMANDS = ("wer-golden", "correct", "wer")


def add_wer(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the WER commands under `appliance quality` (added before by cli/quality.py)."""
    quality = sub.choices["quality"]
    qsub = next(a for a in quality._actions if isinstance(a, argparse._SubParsersAction))
    golden = qsub.add_parser("wer-golden", help="WER of the synthetic golden set (TTS->STT)")
    golden.add_argument("--json", action="store_true", help="print JSON (with each line)")
    golden.add_argument("--limit", type=int, help="only the first N lines (a quick check)")
    golden.add_argument("--no-store", action="store_true", help="do not store the run")
    correct = qsub.add_parser("correct", help="store a reviewer's correction of a caller turn")
    correct.add_argument("call_id")
    correct.add_argument("turn_seq", type=int)
    correct.add_argument("--text", required=True, help="what the caller said (PHI)")
    correct.add_argument(
        "--show-text", action="store_true", help="print the turn's transcript and correction (PHI)"
    )
    wer = qsub.add_parser("wer", help="WER of a week's reviewer corrections, with n and CI")
    wer.add_argument("--week", required=True, help="ISO week, e.g. 2026-W49")
    wer.add_argument("--json", action="store_true", help="print JSON")


def cmd(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.services.app_db import MIGRATIONS
    from appliance.store.bootstrap import open_database

    run = golden(settings, args.limit) if args.quality_command == "wer-golden" else None
    db = open_database(settings, MIGRATIONS)
    try:
        if args.quality_command == "correct":
            return run_correct(
                db, args.call_id, args.turn_seq, args.text, getpass.getuser(), args.show_text
            )
        if args.quality_command == "wer":
            return run_week(db, args.week, as_json=args.json, names=clinic_names(settings))
        assert run is not None
        if not args.no_store:
            db.execute(insert_run, "synthetic", run.summary, run.config)
    finally:
        db.close()
    print(json.dumps(golden_report(run), indent=2) if args.json else summary_text(run.summary))
    return 0


def clinic_names(settings: Settings) -> frozenset[str]:
    """Words of the clinic's name and `[stt] vocabulary`: entities wherever they stand."""
    words = " ".join([settings.clinic.name, *settings.stt.vocabulary]).lower().split()
    return frozenset(w for w in words if w not in ("doctor", "dr", "the", "clinic"))


def golden(settings: Settings, limit: int | None = None) -> GoldenRun:
    """The golden set through the product's TTS and STT as the agent loads them."""
    from appliance.artifacts.model_files import model_dir
    from appliance.quality.wer_golden import PiperSpeaker
    from appliance.speech.stt import WhisperStt

    models = settings.models_dir
    speaker = PiperSpeaker.load(model_dir(models, settings.tts.voice), settings.tts.voice)
    stt = WhisperStt.load(model_dir(models, settings.stt.model), settings.stt, settings.clinic.name)
    lines, set_hash = load_lines()
    lines = lines[:limit] if limit else lines
    try:
        run = run_golden(lines, speaker, stt, Channel(), clinic_names(settings))
    finally:
        stt.close()
    run.config.update(
        set="wer_golden.toml",
        set_hash=set_hash,
        stt_model=settings.stt.model,
        stt_device=stt.device,
        stt_compute_type=settings.stt.compute_type,
        stt_beam_size=settings.stt.beam_size,
        stt_window_s=settings.stt.window_s,
        tts_voice=settings.tts.voice,
    )
    return run


def golden_report(run: GoldenRun) -> dict[str, Any]:
    lines = [
        {"said": said, "heard": heard, "words": s.ref_words, "errors": s.errors,
         "entities": s.entities, "entity_errors": s.entity_errors}
        for said, heard, s in zip(run.texts, run.hypotheses, run.lines, strict=False)
    ]  # fmt: skip
    return {"source": "synthetic", **run.summary.as_dict(), "config": run.config, "lines": lines}


def summary_text(summary: WerSummary, label: str = "synthetic") -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f}%"

    return (
        f"WER ({label}): {pct(summary.wer)} "
        f"[95% CI {pct(summary.ci_low)} to {pct(summary.ci_high)}]  "
        f"n={summary.samples} lines, {summary.ref_words} words, {summary.errors} errors\n"
        f"entity error rate: {pct(summary.entity_error_rate)} "
        f"({summary.entity_errors} of {summary.entities} names, dates and numbers)"
    )


def run_correct(
    db: Database, call_id: str, seq: int, text: str, reviewer: str, show_text: bool = False
) -> int:
    """Store the correction; the words (PHI) are printed only when asked for."""
    corrected = store_correction(db, call_id, seq, text, reviewer)
    line = score_line(corrected.corrected, corrected.transcript)
    print(f"turn {call_id}:{seq} corrected by {reviewer}")
    if show_text:
        print(f"  transcript: {corrected.transcript}")
        print(f"  corrected:  {corrected.corrected}")
    print(f"  {line.errors} word errors of {line.ref_words}")
    return 0


def run_week(db: Database, week: str, *, as_json: bool, names: frozenset[str] = frozenset()) -> int:
    """Score the week's corrected turns; store the result as a corrections run."""
    since, until = week_bounds(week)
    turns = db.query(corrected_turns, since, until)
    if not turns:
        raise ApplianceError("quality-no-corrections", f"no corrected caller turns in {week}")
    summary = summarise([score_line(t.corrected, t.transcript, names) for t in turns])
    config = {"label": "corrections", "week": week.upper(), "turns": len(turns)}
    db.execute(insert_run, "corrections", summary, config, week.upper())
    if as_json:
        print(json.dumps({"source": "corrections", "week": week.upper(), **summary.as_dict()}))
    else:
        print(f"week {week.upper()} ({_day(since)} to {_day(until - 1)} UTC)")
        print(summary_text(summary, "reviewer corrections"))
    return 0


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")

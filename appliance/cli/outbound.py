"""`appliance consent import`, `appliance dnc import`, `appliance reminders plan|run`.

The plan shows pseudonymous keys only (`pt-`/`pn-`, appliance.outbound.numbers); `--show`
adds the patient's id, name and number, and each appointment shown that way is audited
as a PHI read first (like `appliance db calls --show-text`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from appliance.cli.db import audit_phi_reads
from appliance.config import Settings
from appliance.errors import OutboundError
from appliance.outbound.csv_import import ImportRejected, import_consent, import_dnc
from appliance.outbound.ledger import Actor
from appliance.outbound.planner import Decision, Planner
from appliance.ports import CallHandle
from appliance.store.db import Connection, Database

if TYPE_CHECKING:
    from appliance.outbound.dialler import RunReport
    from appliance.outbound.run import RunOptions


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    consent = sub.add_parser("consent", help="the outbound consent ledger (docs/outbound.md)")
    csub = consent.add_subparsers(dest="consent_command", required=True)
    cimp = csub.add_parser("import", help="import consents from a strict CSV (all or nothing)")
    cimp.add_argument("file", type=Path)
    dnc = sub.add_parser("dnc", help="the do-not-call lists")
    dsub = dnc.add_subparsers(dest="dnc_command", required=True)
    dimp = dsub.add_parser("import", help="add a CSV of numbers to the imported DNC list")
    dimp.add_argument("file", type=Path)
    reminders = sub.add_parser("reminders", help="appointment reminder calls")
    rsub = reminders.add_subparsers(dest="reminders_command", required=True)
    plan = rsub.add_parser("plan", help="what would be called for a date, and why not")
    plan.add_argument("--date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    plan.add_argument("--now", type=datetime.fromisoformat, help="ISO time with offset")
    plan.add_argument("--json", action="store_true")
    plan.add_argument("--show", action="store_true", help="names and numbers (PHI, audited)")
    report = rsub.add_parser("report", help="a day's results: counts and codes only")
    report.add_argument("--date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    report.add_argument("--json", action="store_true")
    run = rsub.add_parser("run", help="call the reminders for a date ([outbound] enabled)")
    run.add_argument("--date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    run.add_argument("--dry-run", action="store_true", help="what it would dial now; no call")
    run.add_argument("--now", type=datetime.fromisoformat, help="--dry-run: ISO time, offset")
    # each of these overrides its [outbound] setting (route, callback, ...) for this run
    run.add_argument("--via", default="", help="host[:port] of the PBX / outbound proxy")
    run.add_argument("--callback", default="", help="the clinic's call-back number, said")
    run.add_argument("--sip-port", type=int, default=0, help="the dialler's SIP port (0: any)")
    run.add_argument("--max-concurrent", type=int, help="reminder calls at once")
    run.add_argument("--inbound-reserve", type=int, help="slots kept for inbound")


def _open(settings: Settings) -> tuple[Database, bytes]:
    from appliance.services.app_db import MIGRATIONS
    from appliance.store.bootstrap import audit_key, open_database
    from appliance.store.pseudonyms import caller_hash_key

    db = open_database(settings, MIGRATIONS)
    return db, caller_hash_key(audit_key(settings))


def _operator() -> Actor:
    return Actor(getpass.getuser(), "operator", "cli")


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    """`consent import` and `dnc import`: every bad row printed; nothing written then."""
    db, key = _open(settings)
    run = import_consent if args.command == "consent" else import_dnc
    try:
        added, already = run(db, key, args.file, _operator(), time.time())
    except ImportRejected as exc:
        for error in exc.errors:
            print(f"{args.file.name}: {error}")
        raise
    finally:
        db.close()
    print(f"{args.command}: {added} added, {already} already recorded")
    return 0


def cmd_plan(settings: Settings, args: argparse.Namespace) -> int:
    zone = ZoneInfo(settings.clinic.timezone)
    if args.now is not None and args.now.tzinfo is None:
        raise OutboundError("outbound-bad-time", "--now needs its UTC offset")
    now = (args.now or datetime.now(zone)).astimezone(zone)
    db, key = _open(settings)
    try:
        decisions = Planner.from_settings(db, key, settings).plan(args.date, now)
        names = _reveal(db, decisions) if args.show else {}
    finally:
        db.close()
    rows = [_row(d, names) if args.show else d.public() for d in decisions]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    state = "on" if settings.outbound.enabled else "off: nothing is dialled"
    print(f"reminders for {args.date} as of {now.isoformat()} ({zone.key}); outbound {state}")
    for row in rows:
        print(_line(row))
    return 0


def _row(d: Decision, names: dict[str, str]) -> dict[str, Any]:
    row = d.public()
    row["patient_id"] = d.contact.patient_id
    row["name"] = names.get(d.contact.patient_id, "")
    row["phone"] = d.contact.number
    return row


def _line(row: dict[str, Any]) -> str:
    why = row["reason"] or ""
    when = row["at"] or ""
    line = (
        f"{row['appointment_id'][:12]:12}  {row['patient']:15}  {row['number'] or '-':15}  "
        f"{row['action']:9}  {when:25}  {why:18}  {row['zone_basis'] or ''}"
    )
    if "patient_id" in row:
        line += f"  [{row['patient_id']} {row['name']} {row['phone'] or '-'}]"
    return line


def _reveal(db: Database, decisions: list[Decision]) -> dict[str, str]:
    """Names for `--show`: each appointment shown is audited as a PHI read first."""
    audit_phi_reads(db, [d.appointment_id for d in decisions], "appointment")

    def read(conn: Connection, ids: set[str]) -> dict[str, str]:
        sql = "SELECT first_name, last_name FROM patients WHERE id = ?"
        rows = {i: conn.execute(sql, (i,)).fetchone() for i in ids}
        return {i: f"{r[0]} {r[1]}" for i, r in rows.items() if r}

    return db.query(read, {d.contact.patient_id for d in decisions})


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    """`reminders report`: the day's attempts, answers, opt-outs and skips (no PHI)."""
    from appliance.outbound.report import day_report

    zone = ZoneInfo(settings.clinic.timezone)
    db, key = _open(settings)
    try:
        planner = Planner.from_settings(db, key, settings)
        report = day_report(db, planner, zone, args.date, datetime.now(zone))
    finally:
        db.close()
    if args.json:
        print(json.dumps(report.public(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """`reminders run`: call (or, with --dry-run, show what would be dialled now)."""
    zone = ZoneInfo(settings.clinic.timezone)
    if args.now is not None and (args.now.tzinfo is None or not args.dry_run):
        raise OutboundError("outbound-bad-time", "--now is for --dry-run, with its UTC offset")
    if not args.dry_run:
        _check_can_run(settings, args)
    db, key = _open(settings)
    try:
        if args.dry_run:
            now = (args.now or datetime.now(zone)).astimezone(zone)
            return _dry_run(settings, db, key, args.date, now)
        return _run(settings, db, key, args)
    finally:
        db.close()


def _check_can_run(settings: Settings, args: argparse.Namespace) -> None:
    o = settings.outbound
    if not o.enabled:
        raise OutboundError("outbound-disabled", "[outbound] enabled is false: nothing dials")
    if not (args.via or o.route) or not (args.callback or o.callback):
        raise OutboundError(
            "outbound-no-route", "[outbound] route and callback (or --via, --callback) needed"
        )
    if (args.max_concurrent is not None and args.max_concurrent < 1) or (
        args.inbound_reserve is not None and args.inbound_reserve < 0
    ):
        raise OutboundError("outbound-bad-pacing", "--max-concurrent >= 1, reserve >= 0")


def _dry_run(settings: Settings, db: Database, key: bytes, day: date, now: datetime) -> int:
    from appliance.outbound.run import dry_dialler

    rows = dry_dialler(settings, db, key, now.timestamp()).preview(day)
    state = "on" if settings.outbound.enabled else "off: a real run would refuse"
    print(f"dry run for {day} as of {now.isoformat()}; outbound {state}; nothing dialled")
    for appointment_id, action, at, why in rows:
        when = at.isoformat() if at else ""
        print(f"{appointment_id[:12]:12}  {action:11}  {when:25}  {why or ''}")
    return 0


async def _run_reminders(
    settings: Settings, db: Database, hash_key: bytes, options: RunOptions
) -> RunReport:
    """Load the speech models, start the dialler's own SIP endpoint, call, stop."""
    from appliance.outbound.reminder_call import Voice
    from appliance.outbound.run import build_dialler, dialler_sip, reminder_call
    from appliance.services.runtime import SystemClock, load_speech
    from appliance.sip import PjsipTelephony
    from appliance.speech.vad import SileroTurnDetector

    stt, tts = await load_speech(settings)
    voice = Voice(tts, stt, lambda: SileroTurnDetector(settings.vad), SystemClock())
    sip = dialler_sip(settings.sip, options.sip_port)
    telephony = PjsipTelephony(sip, user_agent="appliance-reminders")

    async def refuse(call: CallHandle) -> None:
        await call.hangup()

    talk = reminder_call(settings, db, voice, options.callback)
    await talk.prepare()  # the disclosure, before any dial
    await telephony.start(refuse)
    try:
        dialler = build_dialler(settings, db, hash_key, (telephony, talk, voice.clock), options)
        return await dialler.run(options.day)
    finally:
        await telephony.stop()


def _run(settings: Settings, db: Database, key: bytes, args: argparse.Namespace) -> int:
    import asyncio

    from appliance.outbound.run import Overrides, run_options

    given = Overrides(
        args.via, args.callback, args.sip_port, args.max_concurrent, args.inbound_reserve
    )
    options = run_options(settings.outbound, args.date, given)
    report = asyncio.run(_run_reminders(settings, db, key, options))
    for a in report.attempts:
        at = datetime.fromtimestamp(a.at, ZoneInfo(settings.clinic.timezone)).isoformat()
        print(
            f"{a.appointment_id[:12]:12}  {a.number:15}  {at:25}  {a.outcome:9}  {a.result or ''}"
        )
    for appointment_id, why in sorted(report.not_dialled.items()):
        print(f"{appointment_id[:12]:12}  not dialled: {why}")
    return 0


def cmd(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "reminders" and args.reminders_command == "run":
        return cmd_run(settings, args)
    if args.command == "reminders" and args.reminders_command == "report":
        return cmd_report(settings, args)
    if args.command == "reminders":
        return cmd_plan(settings, args)
    return cmd_import(settings, args)

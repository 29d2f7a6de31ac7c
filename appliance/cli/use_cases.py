"""`appliance usecases list|history|export|kill|pause|promote|revive`: the rollout's use
cases and kill switches (appliance/governance/use_cases.py). Every change is audited and
names who asked (`--by`); a promotion or revival names a second person, a console user
with the required role, who approves it with a fresh TOTP code (`--totp`, else asked for)
and a comment; it is refused while the checklist or, into production, the phase gate
fails (appliance/governance/promotion.py).

`appliance simulate --use-case ID`: the use case's labelled dialogues through the real
workflow engine on a scratch copy of the demo clinic store; the report (counts, ids,
codes) is written with its sha256 and audited; only a passing one lets the use case
leave draft (appliance/governance/simulation.py). `appliance simulate SCENARIOS...`: the
same evidence from YAML scenarios over real SIP (appliance/cli/simulate.py)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from appliance.config import Settings
from appliance.errors import GovernanceError
from appliance.governance import checklist, promotion, signoff, simulation
from appliance.governance import use_cases as uc
from appliance.store.db import Database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("usecases", help="use cases: states, history, kill switches, promotion")
    s = p.add_subparsers(dest="usecase_command", required=True)
    listing = s.add_parser("list", help="every use case with its tier, intents and state")
    listing.add_argument("--json", action="store_true")
    hist = s.add_parser("history", help="every recorded change, oldest first")
    hist.add_argument("id", nargs="?")
    hist.add_argument("--json", action="store_true")
    export = s.add_parser("export", help="write the use cases and history as JSON for review")
    export.add_argument("out", type=Path)
    stops = (
        ("kill", "stop handling it at once (or 'agent': every call)"),
        ("pause", "stop handling a live use case until it is promoted again"),
    )
    for name, what in stops:
        cmd = s.add_parser(name, help=what)
        cmd.add_argument("id", help="a use case id, or 'agent' for the whole agent (kill)")
        cmd.add_argument("--by", required=True, help="who asks (recorded)")
        cmd.add_argument("--comment", default="")
    promote = s.add_parser("promote", help="one step up, approved by a second person")
    promote.add_argument("id")
    promote.add_argument("--to", required=True, choices=["simulated", "pilot", "production"])
    revive = s.add_parser("revive", help="the whole agent takes calls again (approved)")
    for cmd in (promote, revive):
        cmd.add_argument("--by", required=True, help="who asks (recorded)")
        cmd.add_argument("--approved-by", required=True, help="a second console user")
        cmd.add_argument("--totp", help="the approver's TOTP code (asked for when left out)")
        cmd.add_argument("--comment", required=True, help="why (kept in the sign-off)")


def add_simulate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="a use case's dialogues through the workflows (--use-case), or YAML scenarios "
        "as real SIP calls to the running appliance (SCENARIOS; `starter`: the shipped ones)",
    )
    p.add_argument("scenarios", nargs="*", help="scenario files or folders, or `starter`")
    p.add_argument("--use-case", help="a use case id (in-process dialogues)")
    p.add_argument("--runs", type=_runs, default=1, help="runs per scenario (pass^k)")
    p.add_argument("--target", help="host:port of the appliance's SIP (default: this config's)")
    p.add_argument("--report", type=Path, help="write a markdown report here (SIP mode)")
    p.add_argument("--only", action="append", help="run only this scenario id (repeatable)")
    p.add_argument("--by", default="cli", help="who runs it (recorded in the audit chain)")
    p.add_argument("--out", type=Path, help="the evidence file (default: var/simulations/)")
    p.add_argument("--dialogues", type=Path, default=simulation.DIALOGUES, help="TOML set")
    p.add_argument("--json", action="store_true")


def _runs(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 20:
        raise argparse.ArgumentTypeError("runs is 1..20")
    return int(value)


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0: the simulation passed; 1: it ran and failed; 2: it could not run."""
    if args.scenarios:
        from appliance.cli.simulate import cmd_simulate_sip

        return cmd_simulate_sip(settings, args)
    if not args.use_case:
        print("error: name scenario files, or --use-case ID", file=sys.stderr)
        return 2
    from zoneinfo import ZoneInfo

    from appliance.services.app_db import MIGRATIONS, open_store
    from appliance.workflows.simulation import simulate

    db, _ = open_store(settings)
    try:
        case = next((c for c in db.query(uc.load) if c.id == args.use_case), None)
        if case is None:
            raise GovernanceError("usecase-unknown", f"no use case {args.use_case!r}")
        dialogues = simulation.load_dialogues(args.dialogues)
        key = secrets.token_hex(32)  # the scratch store's, forgotten with it
        with tempfile.TemporaryDirectory(prefix="simulate-") as work:
            report = asyncio.run(simulate(
                Path(work), lambda path: Database.open(path, key, MIGRATIONS), dialogues,
                ZoneInfo(simulation.TIMEZONE), (case.id, case.intents),
                settings.governance.simulation_pass_min, simulation.file_sha256(args.dialogues),
            ))  # fmt: skip
        at = time.time()
        simulation.record(db, report, args.by, at)
    except GovernanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    out = args.out or settings.path(settings.paths.var_dir) / "simulations" / (
        f"{case.id}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(at))}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    _print_simulation(report, out, args.json)
    return 0 if report.passed else 1


def _print_simulation(report: simulation.Report, out: Path, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**report.as_dict(), "evidence_file": str(out)}, indent=2))
        return
    verdict = "PASS" if report.passed else "FAIL"
    rate = "-" if report.rate is None else f"{report.rate:.0%}"
    print(f"{report.use_case}: {verdict} ({rate} reached, threshold {report.threshold:.0%})")
    print(f"  run {len(report.results)}, reached {report.count('reached')}, escalated "
          f"{report.count('escalated')}, failed {report.count('failed')}")  # fmt: skip
    for r in report.results:
        if r.verdict != "reached":
            print(f"  {r.id}: {r.verdict} ({r.outcome}; missed {', '.join(r.missed) or '-'})")
    print(f"  evidence {out} sha256 {report.sha256()}")


def cmd_usecases(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.services.app_db import open_store

    db, _ = open_store(settings)
    try:
        rules = promotion.Rules(settings.governance, accept_demo=settings.demo.clinic)
        return _run(db, args, rules)
    except GovernanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()


def _run(db: Database, args: argparse.Namespace, rules: promotion.Rules) -> int:
    command = args.usecase_command
    if command == "list":
        return _list(db, args.json)
    if command == "history":
        rows = uc.history(db, args.id)
        print(json.dumps(rows, indent=2) if args.json else "\n".join(map(_line, rows)))
        return 0
    if command == "export":
        loaded = db.query(uc.load)
        body = {
            "use_cases": [_case(c) for c in loaded],
            "agent": uc.states(db).get(uc.AGENT),
            "history": uc.history(db),
            "checklists": {c.id: [asdict(i) for i in checklist.items(db, c.id)] for c in loaded},
            "signoffs": signoff.signoffs(db),
        }
        args.out.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    target = uc.AGENT if getattr(args, "id", "agent") in ("agent", None) else args.id
    to = {"kill": "killed", "pause": "paused", "revive": "live"}.get(
        command, getattr(args, "to", "")
    )
    approver = getattr(args, "approved_by", None)
    request = uc.Change(target, to, args.by, approver, args.comment)
    if approver is None:
        before = uc.change(db, request)
    else:
        totp = args.totp or getpass.getpass(f"TOTP code of {approver}: ")
        before = promotion.promote(db, request, totp, rules)
    print(f"{'agent' if target == uc.AGENT else target}: {before} -> {to}")
    return 0


def _case(case: uc.UseCase) -> dict[str, object]:
    return {"id": case.id, "description": case.description, "intents": list(case.intents),
            "tier": case.tier, "owner": case.owner, "state": case.state}  # fmt: skip


def _list(db: Database, as_json: bool) -> int:
    cases = db.query(uc.load)
    agent = uc.states(db).get(uc.AGENT, "killed")
    if as_json:
        print(json.dumps({"agent": agent, "use_cases": [_case(c) for c in cases]}, indent=2))
        return 0
    print(f"agent: {agent}")
    for c in cases:
        live = "live" if c.state in uc.LIVE else "not live"
        print(f"{c.id:20} {c.tier:6} {c.state:10} ({live}) {', '.join(c.intents)}")
    return 0


def _line(row: dict[str, object]) -> str:
    who = f"{row['requested_by']}" + (
        f", approved by {row['approved_by']}" if row["approved_by"] else ""
    )
    return f"{row['at']:.0f} {row['use_case']}: {row['from']} -> {row['to']} ({who})"

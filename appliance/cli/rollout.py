"""`appliance governance gates|checklist|tick|clear|signoff|signoffs|enforce|report|
platform|compliance`: the rollout's phase gates, pre-deployment checklists, review
sign-offs, automatic demotion, the monthly review, the monthly platform report and the
quarterly compliance report (appliance/governance/, docs/governance.md). Promotions are
`appliance usecases promote`.

Exit status: 0 done (for `gates`: every gate computed, passing or not), 2 a coded error.
Nothing printed is PHI: use case ids, criteria, counts, user names and links.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from appliance.config import Settings
from appliance.errors import GovernanceError
from appliance.governance import checklist, demotion, gates, promotion, reports, review, signoff
from appliance.store.db import Connection, Database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("governance", help="phase gates, checklists, sign-offs, demotion")
    s = p.add_subparsers(dest="governance_command", required=True)
    g = s.add_parser("gates", help="each use case's gate: criterion, value, n, pass/fail")
    g.add_argument("--json", action="store_true")
    c = s.add_parser("checklist", help="a use case's pre-deployment checklist")
    c.add_argument("id")
    c.add_argument("--json", action="store_true")
    for name, what in (("tick", "mark an item done, with its evidence"), ("clear", "undo")):
        t = s.add_parser(name, help=what)
        t.add_argument("id")
        t.add_argument("item", choices=checklist.ITEM_IDS)
        t.add_argument("--by", required=True, help="the named reviewer (recorded)")
        t.add_argument("--evidence", default="", required=name == "tick", help="a link")
    r = s.add_parser("signoff", help="sign off a use case in its state (TOTP)")
    r.add_argument("id")
    r.add_argument("--by", required=True, help="a console user with the required role")
    r.add_argument("--totp", help="the signer's TOTP code (asked for when left out)")
    r.add_argument("--comment", required=True)
    o = s.add_parser("signoffs", help="the recorded sign-offs, oldest first")
    o.add_argument("id", nargs="?")
    o.add_argument("--json", action="store_true")
    s.add_parser("enforce", help="pause each live use case whose gate fails (audited)")
    m = s.add_parser("report", help="the monthly review: changes, sign-offs, gates, kills")
    m.add_argument("--month", required=True, help="YYYY-MM (UTC)")
    m.add_argument("--json", action="store_true")
    f = s.add_parser("platform", help="the monthly platform report: latency, capacity, SLA")
    f.add_argument("--month", required=True, help="YYYY-MM (UTC)")
    f.add_argument("--json", action="store_true", help="JSON (default: markdown)")
    q = s.add_parser("compliance", help="the quarterly compliance report: consents, access")
    q.add_argument("--quarter", required=True, help="YYYY-Qn (UTC)")
    q.add_argument("--json", action="store_true", help="JSON (default: markdown)")


def cmd_governance(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.services.app_db import open_store

    db, _ = open_store(settings)
    try:
        return _run(db, settings, args)
    except GovernanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()


def _run(db: Database, settings: Settings, args: argparse.Namespace) -> int:
    command, cfg = args.governance_command, settings.governance
    if command == "gates":
        found = db.query(lambda conn: gates.evaluate(conn, cfg, time.time()))
        _print_gates(found, cfg.window_days, args.json)
    elif command == "checklist":
        _print_checklist(checklist.items(db, args.id), args.json)
    elif command in ("tick", "clear"):
        done = command == "tick"
        checklist.tick(db, checklist.Tick(args.id, args.item, args.by, args.evidence, done))
        print(f"{args.id}: {args.item} {'done' if done else 'cleared'}")
    elif command == "signoff":
        totp = args.totp or getpass.getpass(f"TOTP code of {args.by}: ")
        rules = promotion.Rules(cfg, accept_demo=settings.demo.clinic)
        sha = promotion.review(db, promotion.Review(args.id, args.by, totp, args.comment), rules)
        print(f"{args.id}: signed off by {args.by}, evidence sha256 {sha}")
    elif command == "signoffs":
        rows = signoff.signoffs(db, args.id)
        print(json.dumps(rows, indent=2) if args.json else "\n".join(map(_signoff_line, rows)))
    elif command in ("platform", "compliance"):
        body = db.query(_report, settings, args)
        text = json.dumps(body, indent=2) + "\n" if args.json else reports.markdown(body)
        print(text, end="")
    elif command == "report":
        body = db.query(lambda conn: review.monthly(conn, cfg, args.month))
        print(json.dumps(body, indent=2) if args.json else "\n".join(review_lines(body)))
    else:
        for d in demotion.enforce(db, cfg):
            print(f"{d.use_case}: {d.from_state} -> paused ({', '.join(d.failing)})")
    return 0


def _report(conn: Connection, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    if args.governance_command == "platform":
        return reports.platform(conn, args.month, settings.sip.workers)
    return reports.compliance(conn, args.quarter)


def _print_gates(found: list[gates.Gate], window_days: int, as_json: bool) -> None:
    if as_json:
        body = {"window_days": window_days, "gates": [g.as_dict() for g in found]}
        print(json.dumps(body, indent=2))
        return
    for gate in found:
        since = datetime.fromtimestamp(gate.since, UTC).strftime("%Y-%m-%d %H:%M")
        verdict = "PASS" if gate.passed else "FAIL"
        print(f"{gate.use_case} ({gate.tier}, {gate.state}) since {since} UTC: {verdict}")
        for c in gate.criteria:
            value = "-" if c.value is None else f"{c.value:g}"
            note = f"  ({c.note})" if c.note else ""
            status = "pass" if c.passed else "FAIL"
            print(f"  {c.name:42} {value:>9} n={c.n:<5} {c.op} {c.threshold:g}  {status}{note}")


def _print_checklist(items: list[checklist.ItemState], as_json: bool) -> None:
    if as_json:
        rows = [
            {"item": i.item, "text": i.text, "done": i.done, "by": i.by, "at": i.at,
             "evidence": i.evidence, "demo": i.demo}
            for i in items
        ]  # fmt: skip
        print(json.dumps({"version": checklist.CHECKLIST_VERSION, "items": rows}, indent=2))
        return
    print(f"checklist version {checklist.CHECKLIST_VERSION}")
    for i in items:
        mark = "[x]" if i.done else "[ ]"
        when = datetime.fromtimestamp(i.at, UTC).strftime("%Y-%m-%d") if i.at else ""
        who = f" {i.by} {when} {i.evidence}" + (" (demo)" if i.demo else "") if i.done else ""
        print(f"{mark} {i.item:22} {i.text}{who}")


def _signoff_line(row: dict[str, object]) -> str:
    to = row["to_state"] or "review"
    return (
        f"{float(str(row['at'])):.0f} {row['use_case']} {row['state']} -> {to}:"
        f" {row['approved_by']} ({row['approver_role']}) for {row['requested_by']},"
        f" sha256 {row['evidence_sha256']}"
    )


def review_lines(body: dict[str, Any]) -> list[str]:
    """The monthly review as text: one block per use case, counts and codes."""
    lines = [f"rollout review {body['month']} (UTC {body['from']} .. {body['until']})"]
    for case, r in body["use_cases"].items():
        gates_seen = " ".join("pass" if g["passed"] else "FAIL" for g in r["gates"])
        c = r["calls"]
        lines += [
            f"{case} ({r['tier']}, now {r['state_now']})",
            f"  calls {c['calls']}, contained {c['contained']}, escalated {c['escalated']}",
            f"  gates (weekly, month end): {gates_seen}",
            *(f"  {key}: {_counted(r[key])}" for key in
              ("state_changes", "signoffs", "demotions", "kills", "simulations")),
        ]  # fmt: skip
    agent = body["agent"]
    lines.append(f"agent: kills {agent['kills']}, changes {_counted(agent['state_changes'])}")
    return lines


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} x{n}" for k, n in counts.items()) or "none"

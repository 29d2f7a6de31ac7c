"""`appliance users add|list|unlock|disable`: console accounts from the shell.

`add` prints a one-time enrolment link (24 h; the store keeps only its hash) for the
first owner; later users are invited from the console. The operator running the command
is the audit actor (their login name, role "operator").
"""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime

from appliance.config import Settings
from appliance.console.accounts import Accounts, Actor
from appliance.console.roles import Role
from appliance.services.app_db import MIGRATIONS
from appliance.store.bootstrap import open_database


def add_users(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="console accounts: invite, list, unlock, disable")
    usub = users.add_subparsers(dest="users_command", required=True)
    add = usub.add_parser("add", help="invite a user: prints a one-time enrolment link (24 h)")
    add.add_argument("name", help="user name: 2-32 of a-z 0-9 . _ -")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    usub.add_parser("list", help="users, roles, status and lockouts")
    unlock = usub.add_parser("unlock", help="lift a sign-in lockout")
    unlock.add_argument("name")
    disable = usub.add_parser("disable", help="no more sign-ins; open sessions end")
    disable.add_argument("name")


def base_url(settings: Settings) -> str:
    """Where the admin app serves the console ([admin] host, port, TLS)."""
    admin = settings.admin
    scheme = "https" if admin.tls_cert_file else "http"
    host = f"[{admin.host}]" if ":" in admin.host else admin.host
    return f"{scheme}://{host}:{admin.port}"


def _iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        return _run(Accounts(db), settings, args)
    finally:
        db.close()


def _run(accounts: Accounts, settings: Settings, args: argparse.Namespace) -> int:
    actor = Actor(getpass.getuser(), "operator", "cli")
    command = args.users_command
    if command == "add":
        invite = accounts.add(args.name, args.role, actor)
        print(
            f"enrolment link for {invite.name} ({invite.role.value}), valid until "
            f"{_iso(invite.expires_at)}, usable once:"
        )
        print(f"{base_url(settings)}/console/enrol/{invite.token}")
        return 0
    if command in ("unlock", "disable"):
        user = getattr(accounts, command)(args.name, actor)
        print(f"{user.name}: {command}ed")
        return 0
    now = accounts.clock()
    print(f"{'name':32}  {'role':20}  {'status':8}  locked until")
    for user in accounts.users():
        locked = _iso(user.locked_until) if user.locked_until and user.locked_until > now else ""
        print(f"{user.name:32}  {user.role.value:20}  {user.status:8}  {locked}")
    return 0

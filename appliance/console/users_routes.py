"""The users and roles screen (owner): every user with their role, state, last sign-in
and lockout; invite (a one-time enrolment link, as `appliance users add` prints), unlock,
disable and change a role. Every change needs a fresh authenticator code (step-up) and
is audited naming the owner (appliance/console/accounts.py); the last active owner can be
neither disabled nor demoted (console-last-owner)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response

from appliance.console.accounts import User
from appliance.console.calls_routes import actor
from appliance.console.guard import (
    STEP_UP,
    GuardedController,
    check_csrf,
    console_of,
    requires,
    session_of,
)
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission, Role
from appliance.console.routes import Form
from appliance.errors import ConsoleError
from appliance.store.db import Connection

AnyRequest = Request[Any, Any, Any]
MANAGE = [requires(Permission.MANAGE_USERS)]
USERS = "/console/users"
_STATUS = {
    "console-no-user": 404,
    "console-user-exists": 409,
    "console-last-owner": 409,
}


@dataclass(frozen=True, slots=True)
class Listed:
    user: User
    last_sign_in: float | None
    locked: bool


def _last_sign_ins(conn: Connection) -> dict[int, float]:
    rows = conn.execute("SELECT user_id, max(created_at) FROM console_sessions GROUP BY user_id")
    return {int(uid): float(at) for uid, at in rows.fetchall()}


def listed(request: AnyRequest) -> list[Listed]:
    console = console_of(request)
    last, now = console.db.query(_last_sign_ins), console.now()
    return [
        Listed(u, last.get(u.user_id), u.locked_until is not None and u.locked_until > now)
        for u in console.accounts.users()
    ]


def _page(
    request: AnyRequest,
    status: int = 200,
    error: str | None = None,
    draft: dict[str, str] | None = None,
    link: str | None = None,
) -> Response[str]:
    session = session_of(request)
    return page(
        "users.html",
        status,
        session=session,
        users=listed(request),
        roles=[r.value for r in Role],
        fresh=session.fresh(console_of(request).now()),
        step_up=f"{STEP_UP}?next={quote(USERS)}",
        draft=draft or {},
        link=link,
        error=error,
    )


def _checked(request: AnyRequest, data: dict[str, str]) -> Response[Any] | None:
    """CSRF first, then a fresh code: without one, the step-up page and back here."""
    session = session_of(request)
    check_csrf(session, data)
    if not session.fresh(console_of(request).now()):
        return Redirect(f"{STEP_UP}?next={quote(USERS)}", status_code=303, headers=HEADERS)
    return None


class UsersController(GuardedController):
    @get("/users", guards=MANAGE, sync_to_thread=True)
    def users(self, request: AnyRequest) -> Response[str]:
        return _page(request)

    @post("/users", guards=MANAGE, sync_to_thread=True)
    def invite(self, request: AnyRequest, data: Form) -> Response[Any]:
        refused = _checked(request, data)
        if refused is not None:
            return refused
        draft = {"name": data.get("name", ""), "role": data.get("role", "")}
        try:
            invite = console_of(request).accounts.add(draft["name"], draft["role"], actor(request))
        except ConsoleError as exc:
            return _page(request, _STATUS.get(exc.code, 400), exc.message, draft)
        base = str(request.base_url).rstrip("/")
        return _page(request, link=f"{base}/console/enrol/{invite.token}")

    # the name is matched as text (a malformed one reaches the guards too, then 404)
    @post("/users/{name:str}/unlock", guards=MANAGE, sync_to_thread=True)
    def unlock(self, request: AnyRequest, name: FromPath[str], data: Form) -> Response[Any]:
        return _change(request, name, data, "unlock")

    @post("/users/{name:str}/disable", guards=MANAGE, sync_to_thread=True)
    def disable(self, request: AnyRequest, name: FromPath[str], data: Form) -> Response[Any]:
        return _change(request, name, data, "disable")

    @post("/users/{name:str}/role", guards=MANAGE, sync_to_thread=True)
    def role(self, request: AnyRequest, name: FromPath[str], data: Form) -> Response[Any]:
        return _change(request, name, data, "role")


def _change(request: AnyRequest, name: str, data: dict[str, str], what: str) -> Response[Any]:
    refused = _checked(request, data)
    if refused is not None:
        return refused
    accounts, by = console_of(request).accounts, actor(request)
    try:
        if what == "unlock":
            accounts.unlock(name, by)
        elif what == "disable":
            accounts.disable(name, by)
        else:
            accounts.set_role(name, data.get("role", ""), by)
    except ConsoleError as exc:
        code = "console-no-user" if exc.code == "console-bad-name" else exc.code
        return _page(request, _STATUS.get(code, 400), exc.message)
    if name.strip().lower() == session_of(request).name and what != "unlock":
        return Redirect("/console/login", status_code=303, headers=HEADERS)  # own session ended
    return Redirect(USERS, status_code=303, headers=HEADERS)

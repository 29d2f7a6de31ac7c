"""Who may reach a console route: a live session for every route but sign-in and
enrolment, a role's permission for each screen, a fresh TOTP for sensitive actions, and
the CSRF token on every form.

Pages without a session redirect to the sign-in page; API routes (opt `api`) answer 401.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Response

from appliance.console.pages import HEADERS
from appliance.console.roles import Permission, may
from appliance.console.service import Console
from appliance.console.sessions import Session

SESSION_COOKIE = "console_session"
PRE_COOKIE = "console_pre"  # CSRF token of the forms before sign-in (double submit)
COOKIE_PATH = "/console"
LOGIN = "/console/login"
STEP_UP = "/console/step-up"

Connection = ASGIConnection[Any, Any, Any, Any]
Guard = Any  # litestar's Guard type, a callable (connection, handler) -> None | Awaitable


class SignInRequired(NotAuthorizedException):
    """No live session on a page: the handler below redirects to the sign-in page."""


class StepUpRequired(PermissionDeniedException):
    """A sensitive action without a fresh TOTP: redirect to the step-up page."""


def console_of(connection: Connection) -> Console:
    console = connection.app.state.get("console")
    if not isinstance(console, Console):
        raise NotAuthorizedException("the console is not configured")
    return console


def session_of(connection: Connection) -> Session:
    """The session the guard found (only inside guarded routes)."""
    session = connection.state.get("console_session")
    if not isinstance(session, Session):
        raise NotAuthorizedException("sign-in required")
    return session


async def requires_session(connection: Connection, handler: BaseRouteHandler) -> None:
    """Guard of every console route but sign-in and enrolment."""
    console = console_of(connection)
    sid = connection.cookies.get(SESSION_COOKIE)
    session = await asyncio.to_thread(console.sessions.get, sid) if sid else None
    if session is None:
        if handler.opt.get("api"):
            raise NotAuthorizedException("sign-in required")
        raise SignInRequired("sign-in required")
    connection.state["console_session"] = session


def requires(permission: Permission) -> Guard:
    """Guard factory for a screen: the session's role must hold `permission` (403)."""

    def guard(connection: Connection, _: BaseRouteHandler) -> None:
        if not may(session_of(connection).role, permission):
            raise PermissionDeniedException("your role may not open this screen")

    return guard


def requires_fresh_totp(connection: Connection, _: BaseRouteHandler) -> None:
    """Guard of sensitive actions (sign-off, kill switch, export, user changes): a TOTP
    code confirmed within the last 5 minutes, else the step-up page."""
    if not session_of(connection).fresh(console_of(connection).now()):
        raise StepUpRequired("a fresh authenticator code is needed")


def check_csrf(session: Session, form: dict[str, str]) -> None:
    if not session.csrf_ok(form.get("csrf")):
        raise PermissionDeniedException("the form's CSRF token is missing or wrong")


def check_pre_csrf(request: Request[Any, Any, Any], form: dict[str, str]) -> None:
    """The forms before sign-in: the hidden field must equal the SameSite=Strict cookie."""
    cookie, field = request.cookies.get(PRE_COOKIE, ""), form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie, field):
        raise PermissionDeniedException("the form's CSRF token is missing or wrong")


def cookie(request: Request[Any, Any, Any], key: str, value: str, expire: bool = False) -> Cookie:
    """HttpOnly, SameSite=Strict, Secure when served over TLS; a browser-session cookie."""
    return Cookie(
        key=key,
        value=value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=0 if expire else None,
    )


def to_sign_in(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Exception handler of SignInRequired: the sign-in page."""
    return Redirect(LOGIN, status_code=303, headers=HEADERS)


def to_step_up(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Exception handler of StepUpRequired: the step-up page, then back here."""
    return Redirect(f"{STEP_UP}?next={quote(request.url.path)}", status_code=303, headers=HEADERS)


class GuardedController(Controller):
    """Base of every console screen's controller: a live session, else sign-in."""

    path = "/console"
    guards = [requires_session]  # noqa: RUF012 (litestar's layer attribute)
    exception_handlers = {SignInRequired: to_sign_in, StepUpRequired: to_step_up}  # noqa: RUF012

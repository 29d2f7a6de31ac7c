"""The console's routes: sign-in, enrolment, sign-out, step-up and the landing page.

`PUBLIC` lists the only routes served without a session; every other /console route is
behind `requires_session` (a test enumerates the app's routes to hold this). Forms keep
what was typed, except passwords and codes.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response
from markupsafe import Markup

from appliance.console import credentials as cred
from appliance.console.guard import (
    LOGIN,
    PRE_COOKIE,
    SESSION_COOKIE,
    GuardedController,
    check_csrf,
    check_pre_csrf,
    console_of,
    cookie,
    session_of,
)
from appliance.console.pages import HEADERS, htmx_script, page, stylesheet
from appliance.console.roles import PERMISSIONS, screens_for
from appliance.errors import ConsoleError

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
AnyRequest = Request[Any, Any, Any]
# the routes served without a session (paths as litestar lists them)
PUBLIC = frozenset(
    {
        "/console/login",
        "/console/enrol/{token:str}",
        "/console/static/console.css",
        "/console/static/htmx.min.js",
    }
)


def _pre_token(request: AnyRequest) -> tuple[str, list[Any]]:
    """The pre-sign-in CSRF token, and the cookie to set when the browser has none."""
    token = request.cookies.get(PRE_COOKIE)
    if token:
        return token, []
    token = secrets.token_urlsafe(32)
    return token, [cookie(request, PRE_COOKIE, token)]


class PublicController(Controller):
    path = "/console"

    @get("/static/console.css", sync_to_thread=False)
    def css(self) -> Response[str]:
        return Response(stylesheet(), media_type="text/css; charset=utf-8", headers=HEADERS)

    @get("/static/htmx.min.js", sync_to_thread=False)
    def htmx(self) -> Response[str]:
        return Response(htmx_script(), media_type="text/javascript; charset=utf-8", headers=HEADERS)

    @get("/login", sync_to_thread=False)
    def login_page(self, request: AnyRequest) -> Response[str]:
        token, cookies = _pre_token(request)
        return page("login.html", csrf=token, name="", cookies=cookies)

    @post("/login", sync_to_thread=True)
    def login(self, request: AnyRequest, data: Form) -> Response[Any]:
        check_pre_csrf(request, data)
        console, name = console_of(request), data.get("name", "")
        try:
            user = console.signin.sign_in(name, data.get("password", ""), data.get("code", ""))
        except ConsoleError as exc:
            csrf = request.cookies.get(PRE_COOKIE, "")
            return page("login.html", 401, csrf=csrf, name=name, error=exc.message)
        console.sessions.end(request.cookies.get(SESSION_COOKIE))  # never reuse an id
        sid, _ = console.sessions.start(user)
        cookies = [cookie(request, SESSION_COOKIE, sid)]
        return Redirect("/console/", status_code=303, cookies=cookies, headers=HEADERS)

    @get("/enrol/{token:str}", sync_to_thread=True)
    def enrol_page(self, request: AnyRequest, token: FromPath[str]) -> Response[str]:
        return _enrol_form(request, token, None)

    @post("/enrol/{token:str}", sync_to_thread=True)
    def enrol(self, request: AnyRequest, token: FromPath[str], data: Form) -> Response[str]:
        check_pre_csrf(request, data)
        password, confirm = data.get("password", ""), data.get("confirm", "")
        try:
            codes = console_of(request).accounts.enrol(
                token, password, confirm, data.get("code", "")
            )
        except ConsoleError as exc:
            return _enrol_form(request, token, exc.message)
        return page("enrolled.html", codes=codes)


def _enrol_form(request: AnyRequest, token: str, error: str | None) -> Response[str]:
    try:
        pending = console_of(request).accounts.enrolment(token)
    except ConsoleError as exc:
        return page("message.html", 410, heading="This link cannot be used", text=exc.message)
    csrf, cookies = _pre_token(request)
    user = pending.user
    return page(
        "enrol.html",
        200 if error is None else 400,
        cookies=cookies,
        csrf=csrf,
        token=token,
        name=user.name,
        role=user.role.value,
        expires=datetime.fromtimestamp(pending.expires_at, UTC).strftime("%Y-%m-%d %H:%M"),
        secret=pending.totp_secret,
        qr=Markup(cred.qr_svg(cred.totp_uri(pending.totp_secret, user.name))),  # noqa: S704
        minimum=cred.PASSWORD_MIN,
        error=error,
    )


class ConsoleController(GuardedController):
    """The landing page, sign-out and step-up (the screens come in their own modules)."""

    @get("/", sync_to_thread=False)
    def home(self, request: AnyRequest) -> Response[str]:
        session = session_of(request)
        return page("home.html", session=session, screens=screens_for(session.role))

    @post("/logout", sync_to_thread=True)
    def logout(self, request: AnyRequest, data: Form) -> Response[Any]:
        check_csrf(session_of(request), data)
        console_of(request).sessions.end(request.cookies.get(SESSION_COOKIE))
        cookies = [cookie(request, SESSION_COOKIE, "", expire=True)]
        return Redirect(LOGIN, status_code=303, cookies=cookies, headers=HEADERS)

    @get("/step-up", sync_to_thread=False)
    def step_up_page(
        self, request: AnyRequest, next: FromQuery[str] = "/console/"
    ) -> Response[str]:
        return page("stepup.html", session=session_of(request), next=_local(next))

    @post("/step-up", sync_to_thread=True)
    def step_up(self, request: AnyRequest, data: Form) -> Response[Any]:
        session, console = session_of(request), console_of(request)
        check_csrf(session, data)
        target = _local(data.get("next", "/console/"))
        if not console.signin.step_up(session.user_id, data.get("code", "")):
            error = "That code is not the current one."
            return page("stepup.html", 400, session=session, next=target, error=error)
        console.sessions.mark_step_up(session)
        return Redirect(target, status_code=303, headers=HEADERS)

    @get("/api/me", sync_to_thread=False, opt={"api": True})
    def me(self, request: AnyRequest) -> Response[dict[str, Any]]:
        session = session_of(request)
        permissions = sorted(p.value for p in PERMISSIONS[session.role])
        body = {"name": session.name, "role": session.role.value, "permissions": permissions}
        return Response(body, headers={"cache-control": "no-store"})


def _local(target: str) -> str:
    """Only a console path (no open redirect to another site)."""
    ok = target.startswith("/console/") and not target.startswith("//") and "\\" not in target
    return target if ok else "/console/"

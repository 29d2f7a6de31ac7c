"""Routes of the screen-pop (logic in screenpop.py): page, sign-in, script, SSE stream."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body
from litestar.response import Redirect, Response, ServerSentEvent

from appliance.admin.screenpop import COOKIE, ScreenPop, asset

PAGE_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
HTML = "text/html; charset=utf-8"


def _screenpop(connection: ASGIConnection[Any, Any, Any, Any]) -> ScreenPop:
    pop = connection.app.state.get("screenpop")
    if not isinstance(pop, ScreenPop):
        raise NotAuthorizedException("the screen-pop is not configured")
    return pop


def requires_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the bearer token or the signed-in cookie, else 401 (no PHI is sent)."""
    if not _screenpop(connection).authorised(connection.headers, connection.cookies):
        raise NotAuthorizedException("screen-pop token required")


def machine_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every /screenpop route: loopback clients only, unless [admin]
    screenpop_remote (people sign in to the console's /console/screenpop instead)."""
    host = connection.client.host if connection.client else None
    if not _screenpop(connection).serves(host):
        raise PermissionDeniedException("use the console's screen-pop: /console/screenpop")


def actor(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who reads, for the audit log: the viewer's address (no user accounts yet)."""
    host = connection.client.host if connection.client else "unknown"
    return f"screenpop@{host}"


class ScreenPopController(Controller):
    path = "/screenpop"
    guards = [machine_only]  # noqa: RUF012 (litestar's layer attribute)

    @get("/", sync_to_thread=False)
    def page(self, request: Request[Any, Any, Any]) -> Response[str]:
        """The screen-pop page once signed in; otherwise the sign-in form (no PHI)."""
        pop = _screenpop(request)
        signed_in = pop.authorised(request.headers, request.cookies)
        body = asset("screenpop.html" if signed_in else "screenpop_login.html")
        return Response(body, media_type=HTML, headers=PAGE_HEADERS)

    @post("/login", sync_to_thread=True, status_code=303)
    def login(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[str]:
        pop = _screenpop(request)
        ok = pop.token_ok(data.get("token", ""))
        pop.store.audit_login(actor(request), ok)
        if not ok:
            body = asset("screenpop_login.html").replace("<!--error-->", "Wrong token.")
            return Response(body, status_code=401, media_type=HTML, headers=PAGE_HEADERS)
        cookie = Cookie(
            key=COOKIE,
            value=pop.session_value,
            path="/screenpop",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return Redirect("/screenpop/", status_code=303, cookies=[cookie], headers=PAGE_HEADERS)

    @get("/screenpop.js", sync_to_thread=False)
    def script(self) -> Response[str]:
        return Response(asset("screenpop.js"), media_type="text/javascript", headers=PAGE_HEADERS)

    @get("/events", guards=[requires_token], sync_to_thread=False)
    def events(self, request: Request[Any, Any, Any]) -> ServerSentEvent:
        """New handoff packets (event "handoff", id = store seq, data = packet JSON)."""
        pop = _screenpop(request)
        last = request.headers.get("last-event-id") or request.query_params.get("after")
        stream = pop.events(last, actor(request))
        return ServerSentEvent(stream, headers={"cache-control": "no-store"})

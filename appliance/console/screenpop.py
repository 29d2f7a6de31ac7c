"""The screen-pop in the console: each front-desk user (and contact-centre lead) signed in
with their own account sees the handoff packets as they happen, and every packet shown
is a PHI read audited under that user's name (HandoffStore.read_for_view).

The packets come from the store's `handoffs` table, as in the admin app's shared-token
screen-pop (appliance/admin/screenpop.py, kept for the desks without accounts yet):
server-sent events, id = the row's seq, so a browser resumes with Last-Event-ID. The
stream ends when the session does (sign-out, idle logoff, a disabled user): it checks
every `CHECK_S` without restarting the idle clock, so an open screen-pop alone does not
keep a session alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from litestar import Request, get
from litestar.response import Response, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from appliance.console.guard import (
    SESSION_COOKIE,
    GuardedController,
    console_of,
    requires,
    session_of,
)
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission
from appliance.console.service import Console

POP = [requires(Permission.SCREEN_POP)]
POLL_S = 0.2  # s between reads of the handoff table
CHECK_S = 5.0  # s between checks that the session is still live
RECENT_S = 900.0  # s: packets this recent are shown when a viewer connects
KEEPALIVE_S = 15.0  # s without packets before a comment keeps proxies from closing


async def packets(
    console: Console, sid: str, name: str, last_id: str | None
) -> AsyncIterator[ServerSentEventMessage]:
    """New packets as SSE messages, each audited as read by `name`; an event
    "signed-out" and the end when the session is no longer live."""
    store = console.calls.handoffs
    after = int(last_id) if last_id and last_id.isdigit() else None
    if after is None:
        after = await asyncio.to_thread(store.last_seq, console.now() - RECENT_S)
    yield ServerSentEventMessage(comment="screen-pop connected", retry=2000)
    quiet = checked = 0.0
    while True:
        if checked >= CHECK_S:
            checked = 0.0
            if not await asyncio.to_thread(console.sessions.still_live, sid):
                yield ServerSentEventMessage(data="signed-out", event="signed-out")
                return
        found = await asyncio.to_thread(store.read_for_view, after, name)
        for row in found:
            after = row.seq
            yield ServerSentEventMessage(data=row.packet, event="handoff", id=row.seq)
        if found:
            quiet = 0.0
            continue
        await asyncio.sleep(POLL_S)
        quiet, checked = quiet + POLL_S, checked + POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ServerSentEventMessage(comment="keep-alive")


class ScreenPopController(GuardedController):
    @get("/screenpop", guards=POP, sync_to_thread=False)
    def screenpop(self, request: Request[Any, Any, Any]) -> Response[str]:
        return page("screenpop.html", session=session_of(request))

    @get("/screenpop/screenpop.js", guards=POP, sync_to_thread=False)
    def script(self) -> Response[str]:
        text = resources.files("appliance.console").joinpath("templates", "screenpop.js")
        return Response(
            text.read_text("utf-8"), media_type="text/javascript; charset=utf-8", headers=HEADERS
        )

    @get("/screenpop/events", guards=POP, sync_to_thread=False, opt={"api": True})
    def events(self, request: Request[Any, Any, Any]) -> ServerSentEvent:
        """New handoff packets (event "handoff", id = store seq, data = packet JSON)."""
        console, session = console_of(request), session_of(request)
        last = request.headers.get("last-event-id") or request.query_params.get("after")
        sid = request.cookies.get(SESSION_COOKIE, "")
        stream = packets(console, sid, session.name, last)
        return ServerSentEvent(stream, headers={"cache-control": "no-store"})

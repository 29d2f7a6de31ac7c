"""The knowledge-base screen: what callers hear now, the versions waiting for a second
person, the history, and the form that proposes a change (appliance/console/kb.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response

from appliance.console.calls_routes import actor
from appliance.console.guard import GuardedController, check_csrf, console_of, requires, session_of
from appliance.console.kb import ANSWER_MAX
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission
from appliance.console.routes import Form
from appliance.errors import ConsoleError

AnyRequest = Request[Any, Any, Any]
EDIT = [requires(Permission.EDIT_KB)]
KB = "/console/kb"


def _page(
    request: AnyRequest,
    status: int = 200,
    draft: dict[str, str] | None = None,
    error: str | None = None,
) -> Response[str]:
    kb = console_of(request).kb
    versions = kb.versions()
    return page(
        "kb.html",
        status,
        session=session_of(request),
        live=kb.live().topic,
        pending=[v for v in versions if v.status == "pending"],
        history=[v for v in versions if v.status != "pending"],
        draft=draft or {},
        answer_max=ANSWER_MAX,
        error=error,
    )


class KbController(GuardedController):
    @get("/kb", guards=EDIT, sync_to_thread=True)
    def kb(self, request: AnyRequest, topic: FromQuery[str] = "") -> Response[str]:
        """With `topic`, the form starts from that topic's live keywords and answer."""
        live = {t.id: t for t in console_of(request).kb.live().topic}
        found = live.get(topic)
        draft = (
            {"topic": found.id, "keywords": ", ".join(found.keywords), "answer": found.answer}
            if found
            else {}
        )
        return _page(request, draft=draft)

    @post("/kb", guards=EDIT, sync_to_thread=True)
    def propose(self, request: AnyRequest, data: Form) -> Response[Any]:
        check_csrf(session_of(request), data)
        draft = {k: data.get(k, "") for k in ("topic", "keywords", "answer")}
        try:
            console_of(request).kb.propose(
                draft["topic"], draft["keywords"], draft["answer"], actor(request)
            )
        except ConsoleError as exc:
            return _page(request, 400, draft, exc.message)
        return Redirect(f"{KB}#pending", status_code=303, headers=HEADERS)

    # the id is matched as text (a malformed one reaches the guards too, then 404)
    @post("/kb/{version_id:str}/approve", guards=EDIT, sync_to_thread=True)
    def approve(self, request: AnyRequest, version_id: FromPath[str], data: Form) -> Response[Any]:
        return _decide(request, version_id, data, approve=True)

    @post("/kb/{version_id:str}/reject", guards=EDIT, sync_to_thread=True)
    def reject(self, request: AnyRequest, version_id: FromPath[str], data: Form) -> Response[Any]:
        return _decide(request, version_id, data, approve=False)


def _decide(
    request: AnyRequest, version_id: str, data: dict[str, str], approve: bool
) -> Response[Any]:
    check_csrf(session_of(request), data)
    try:
        number = int(version_id) if version_id.isdigit() else 0
        console_of(request).kb.decide(number, approve, actor(request))
    except ConsoleError as exc:
        status = 404 if exc.code == "kb-no-version" else 403 if exc.code == "kb-own-change" else 409
        return _page(request, status, error=exc.message)
    return Redirect(KB, status_code=303, headers=HEADERS)

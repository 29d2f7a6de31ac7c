"""The consent screen's routes (permission edit-consent): appliance.console.consent.

A patient is looked up by id through a POST form (CSRF), so the id stays out of URLs and
access logs; each change needs CSRF and a fresh authenticator code (else the step-up
page, then back to the screen) and answers with the patient's page and what was done.
A refused change (unknown patient, undialable number, unknown type) shows its code and
changes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.response import Redirect, Response

from appliance.console.calls_routes import actor
from appliance.console.consent import ConsentDesk
from appliance.console.guard import (
    STEP_UP,
    GuardedController,
    check_csrf,
    console_of,
    requires,
    session_of,
)
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission
from appliance.console.routes import Form
from appliance.errors import ConsoleError
from appliance.outbound.ledger import CONSENT_KINDS

AnyRequest = Request[Any, Any, Any]
EDIT = [requires(Permission.EDIT_CONSENT)]
CONSENT = "/console/consent"
_STATUS = {"consent-unknown-patient": 404, "consent-no-consent": 404}


def _page(
    request: AnyRequest,
    patient: str = "",
    done: str = "",
    error: ConsoleError | None = None,
) -> Response[str]:
    session, desk = session_of(request), console_of(request).consent
    rows, status = None, 200
    if error is not None:
        status = _STATUS.get(error.code, 400)
    if desk is not None and patient and (error is None or error.code != "consent-unknown-patient"):
        try:
            rows = desk.consents(patient)
        except ConsoleError as exc:
            error, status, patient = exc, _STATUS.get(exc.code, 400), ""
    return page(
        "consent.html",
        status,
        session=session,
        off=desk is None,
        patient=patient if rows is not None else "",
        rows=rows,
        kinds=CONSENT_KINDS,
        fresh=session.fresh(console_of(request).now()),
        step_up=f"{STEP_UP}?next={quote(CONSENT)}",
        done=done,
        error=error,
    )


def _desk(request: AnyRequest, data: dict[str, str]) -> ConsentDesk | Response[Any]:
    """CSRF first, then a fresh code (else the step-up page and back); the desk, or the
    page saying outbound is not set up."""
    session = session_of(request)
    check_csrf(session, data)
    if not session.fresh(console_of(request).now()):
        return Redirect(f"{STEP_UP}?next={quote(CONSENT)}", status_code=303, headers=HEADERS)
    desk = console_of(request).consent
    return _page(request) if desk is None else desk


class ConsentController(GuardedController):
    @get("/consent", guards=EDIT, sync_to_thread=True)
    def consent(self, request: AnyRequest) -> Response[str]:
        return _page(request)

    @post("/consent", guards=EDIT, sync_to_thread=True)
    def lookup(self, request: AnyRequest, data: Form) -> Response[str]:
        check_csrf(session_of(request), data)
        return _page(request, data.get("patient", "").strip()[:64])

    @post("/consent/record", guards=EDIT, sync_to_thread=True)
    def record(self, request: AnyRequest, data: Form) -> Response[Any]:
        desk = _desk(request, data)
        if isinstance(desk, Response):
            return desk
        patient = data.get("patient", "").strip()[:64]
        try:
            added = desk.record(
                patient, data.get("number", ""), data.get("kind", ""), actor(request)
            )
        except ConsoleError as exc:
            return _page(request, patient, error=exc)
        return _page(request, patient, "recorded" if added else "already-in-force")

    @post("/consent/revoke", guards=EDIT, sync_to_thread=True)
    def revoke(self, request: AnyRequest, data: Form) -> Response[Any]:
        desk = _desk(request, data)
        if isinstance(desk, Response):
            return desk
        patient = data.get("patient", "").strip()[:64]
        try:
            desk.revoke(patient, data.get("consent", ""), actor(request))
        except ConsoleError as exc:
            return _page(request, patient, error=exc)
        return _page(request, patient, "revoked")

    @post("/consent/dnc", guards=EDIT, sync_to_thread=True)
    def dnc(self, request: AnyRequest, data: Form) -> Response[Any]:
        desk = _desk(request, data)
        if isinstance(desk, Response):
            return desk
        patient = data.get("patient", "").strip()[:64]
        try:
            added = desk.add_dnc(data.get("number", ""), actor(request))
        except ConsoleError as exc:
            return _page(request, patient, error=exc)
        return _page(request, patient, "dnc-added" if added else "dnc-already")

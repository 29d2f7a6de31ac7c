"""The use case screens: every use case with its tier, state, owner and phase gate (each
criterion's value, n and verdict); a use case's page with its checklist (evidence links,
tick or clear: sign-off roles, audited), its history and sign-offs; a promotion requested
by one user (change-use-cases) and approved by another (sign-off) with their own current
authenticator code and a comment; a review sign-off of the use case in its state (the
high-risk gate's compliance officer); pause, kill and the whole agent's kill switch
(change-use-cases, after a fresh code). The rules are appliance/governance/'s
(appliance/console/rollout.py calls them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response

from appliance.console import rollout
from appliance.console.guard import (
    STEP_UP,
    GuardedController,
    check_csrf,
    console_of,
    requires,
    session_of,
)
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission, may
from appliance.console.routes import Form
from appliance.errors import GovernanceError
from appliance.governance import checklist
from appliance.governance import use_cases as uc
from appliance.governance.promotion import Rules
from appliance.store.db import Database

AnyRequest = Request[Any, Any, Any]
SignOff = Callable[[Database, Rules, rollout.Approval, float], str]
SEE = [requires(Permission.SEE_USE_CASES)]
SIGN = [requires(Permission.SIGN_OFF)]
CHANGE = [requires(Permission.CHANGE_USE_CASES)]
LIST = "/console/use-cases"
_STATUS = {
    "usecase-unknown": 404,
    "usecase-no-request": 409,
    "usecase-state-invalid": 409,
    "usecase-checklist-incomplete": 409,
    "usecase-gate-failed": 409,
    "usecase-simulation-missing": 409,
    "usecase-simulation-failed": 409,
}


def _where(use_case: str) -> str:
    return f"{LIST}/{quote(use_case, safe='')}"


def _list(request: AnyRequest, status: int = 200, error: str | None = None) -> Response[str]:
    session, console = session_of(request), console_of(request)
    now = console.now()
    return page(
        "use_cases.html",
        status,
        session=session,
        rows=rollout.rows(console.db, console.rules, now),
        agent=rollout.agent_state(console.db),
        demoted=rollout.demoted(console.db, now) if may(session.role, Permission.SIGN_OFF) else [],
        may_change=may(session.role, Permission.CHANGE_USE_CASES),
        fresh=session.fresh(now),
        step_up=f"{STEP_UP}?next={quote(LIST)}",
        error=error,
    )


def _case(
    request: AnyRequest, use_case: str, status: int = 200, error: str | None = None,
    draft: dict[str, str] | None = None,
) -> Response[str]:  # fmt: skip
    session, console = session_of(request), console_of(request)
    now = console.now()
    try:
        row = rollout.one(console.db, console.rules, now, use_case)
    except GovernanceError:
        return page("message.html", 404, session=session, heading="No such use case",
                    text="There is no use case by that name.")  # fmt: skip
    return page(
        "use_case.html",
        status,
        session=session,
        row=row,
        items=checklist.items(console.db, use_case),
        history=rollout.history(console.db, use_case),
        signoffs=rollout.signoffs(console.db, use_case),
        next_state=rollout.next_state(row.case.state),
        may_change=may(session.role, Permission.CHANGE_USE_CASES),
        may_sign=may(session.role, Permission.SIGN_OFF),
        fresh=session.fresh(now),
        step_up=f"{STEP_UP}?next={quote(_where(use_case))}",
        where=_where(use_case),
        draft=draft or {},
        error=error,
    )


class RolloutController(GuardedController):
    @get("/use-cases", guards=SEE, sync_to_thread=True)
    def use_cases(self, request: AnyRequest) -> Response[str]:
        return _list(request)

    @get("/use-cases/{use_case:str}", guards=SEE, sync_to_thread=True)
    def use_case(self, request: AnyRequest, use_case: FromPath[str]) -> Response[str]:
        return _case(request, use_case)

    @post("/use-cases/{use_case:str}/checklist", guards=SIGN, sync_to_thread=True)
    def tick(self, request: AnyRequest, use_case: FromPath[str], data: Form) -> Response[Any]:
        session, console = session_of(request), console_of(request)
        check_csrf(session, data)
        done = data.get("done", "1") == "1"
        item, evidence = data.get("item", ""), data.get("evidence", "")
        try:
            tick = checklist.Tick(use_case, item, session.name, evidence, done)
            rollout.tick(console.db, tick, console.now())
        except GovernanceError as exc:
            draft = {"item": item, "evidence": evidence}
            return _case(request, use_case, _STATUS.get(exc.code, 400), exc.message, draft)
        return Redirect(_where(use_case), status_code=303, headers=HEADERS)

    @post("/use-cases/{use_case:str}/request", guards=CHANGE, sync_to_thread=True)
    def ask(self, request: AnyRequest, use_case: FromPath[str], data: Form) -> Response[Any]:
        session, console = session_of(request), console_of(request)
        check_csrf(session, data)
        try:
            by, role = session.name, session.role.value
            rollout.request(console.db, use_case, by, role, console.now())
        except GovernanceError as exc:
            return _case(request, use_case, _STATUS.get(exc.code, 400), exc.message)
        return Redirect(_where(use_case), status_code=303, headers=HEADERS)

    @post("/use-cases/{use_case:str}/approve", guards=SIGN, sync_to_thread=True)
    def approve(self, request: AnyRequest, use_case: FromPath[str], data: Form) -> Response[Any]:
        return _signed(request, use_case, data, rollout.approve, "comment")

    @post("/use-cases/{use_case:str}/review", guards=SIGN, sync_to_thread=True)
    def review(self, request: AnyRequest, use_case: FromPath[str], data: Form) -> Response[Any]:
        return _signed(request, use_case, data, rollout.review, "review")

    @post("/use-cases/{use_case:str}/stop", guards=CHANGE, sync_to_thread=True)
    def stop(self, request: AnyRequest, use_case: FromPath[str], data: Form) -> Response[Any]:
        return _stop(request, use_case, data.get("to", ""), data, _where(use_case))

    @post("/agent/kill", guards=CHANGE, sync_to_thread=True)
    def kill_agent(self, request: AnyRequest, data: Form) -> Response[Any]:
        return _stop(request, uc.AGENT, "killed", data, LIST)


def _signed(
    request: AnyRequest, use_case: str, data: Form, act: SignOff, draft_key: str
) -> Response[Any]:
    """A sign-off (`rollout.approve` or `rollout.review`) with the user's own fresh code
    and comment; on a refusal the page again, the comment kept under `draft_key`."""
    session, console = session_of(request), console_of(request)
    check_csrf(session, data)
    comment = data.get("comment", "")
    approval = rollout.Approval(use_case, session.name, data.get("code", ""), comment)
    try:
        act(console.db, console.rules, approval, console.now())
    except GovernanceError as exc:
        status = _STATUS.get(exc.code, 400)
        return _case(request, use_case, status, exc.message, {draft_key: comment})
    return Redirect(_where(use_case), status_code=303, headers=HEADERS)


def _stop(
    request: AnyRequest, use_case: str, to: str, data: dict[str, str], back: str
) -> Response[Any]:
    """Pause or kill after CSRF and a fresh code (else the step-up page, then back)."""
    session, console = session_of(request), console_of(request)
    check_csrf(session, data)
    if not session.fresh(console.now()):
        return Redirect(f"{STEP_UP}?next={quote(back)}", status_code=303, headers=HEADERS)
    try:
        rollout.stop(console.db, use_case, to, session.name, console.now())
    except GovernanceError as exc:
        status = _STATUS.get(exc.code, 400)
        if use_case == uc.AGENT:
            return _list(request, status, exc.message)
        return _case(request, use_case, status, exc.message)
    return Redirect(back, status_code=303, headers=HEADERS)

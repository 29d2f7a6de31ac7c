"""The schedule screen: the built-in schedule's providers, appointment types, working
hours and holidays (appliance/console/schedule.py), for the roles that edit the schedule.
Patients are not shown (they stay import-only). Every change is audited naming the user;
a refused form keeps what was typed."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response

from appliance.console.calls_routes import actor
from appliance.console.guard import GuardedController, check_csrf, console_of, requires, session_of
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission
from appliance.console.routes import Form
from appliance.console.schedule import NAME_MAX, clock_text
from appliance.errors import ConsoleError
from appliance.scheduling.importer import WEEKDAYS

AnyRequest = Request[Any, Any, Any]
EDIT = [requires(Permission.EDIT_SCHEDULE)]
SCHEDULE = "/console/schedule"
FIELDS = {
    "provider": ("id", "name", "specialty"),
    "type": ("id", "name", "minutes"),
    "hours": ("provider", "weekday", "start", "end"),
    "holiday": ("day", "name"),
}


def _page(
    request: AnyRequest,
    status: int = 200,
    form: str = "",
    draft: dict[str, str] | None = None,
    error: str | None = None,
) -> Response[str]:
    return page(
        "schedule.html",
        status,
        session=session_of(request),
        ref=console_of(request).schedule.read(),
        weekdays=WEEKDAYS,
        clock_text=clock_text,
        name_max=NAME_MAX,
        form=form,
        draft=draft or {},
        error=error,
    )


def _apply(request: AnyRequest, what: str, d: dict[str, str]) -> None:
    editor, by = console_of(request).schedule, actor(request)
    if what == "provider":
        editor.save_provider(d["id"], d["name"], d["specialty"], by)
    elif what == "type":
        editor.save_type(d["id"], d["name"], d["minutes"], by)
    elif what == "hours":
        editor.add_hours(d["provider"], d["weekday"], d["start"], d["end"], by)
    else:
        editor.add_holiday(d["day"], d["name"], by)


def _save(request: AnyRequest, what: str, data: dict[str, str]) -> Response[Any]:
    check_csrf(session_of(request), data)
    draft = {k: data.get(k, "")[:200] for k in FIELDS[what]}
    try:
        _apply(request, what, draft)
    except ConsoleError as exc:
        status = 404 if exc.code == "schedule-no-provider" else 400
        status = 409 if exc.code == "schedule-hours-overlap" else status
        return _page(request, status, what, draft, exc.message)
    return Redirect(f"{SCHEDULE}#{what}-heading", status_code=303, headers=HEADERS)


class ScheduleController(GuardedController):
    @get("/schedule", guards=EDIT, sync_to_thread=True)
    def schedule(self, request: AnyRequest) -> Response[str]:
        return _page(request)

    @post("/schedule/provider", guards=EDIT, sync_to_thread=True)
    def provider(self, request: AnyRequest, data: Form) -> Response[Any]:
        return _save(request, "provider", data)

    @post("/schedule/type", guards=EDIT, sync_to_thread=True)
    def type(self, request: AnyRequest, data: Form) -> Response[Any]:
        return _save(request, "type", data)

    @post("/schedule/hours", guards=EDIT, sync_to_thread=True)
    def hours(self, request: AnyRequest, data: Form) -> Response[Any]:
        return _save(request, "hours", data)

    @post("/schedule/holiday", guards=EDIT, sync_to_thread=True)
    def holiday(self, request: AnyRequest, data: Form) -> Response[Any]:
        return _save(request, "holiday", data)

    @post("/schedule/hours/{row:str}/remove", guards=EDIT, sync_to_thread=True)
    def remove_hours(self, request: AnyRequest, row: FromPath[str], data: Form) -> Response[Any]:
        check_csrf(session_of(request), data)
        try:
            console_of(request).schedule.remove_hours(
                int(row) if row.isdigit() else 0, actor(request)
            )
        except ConsoleError as exc:
            return _page(request, 404, error=exc.message)
        return Redirect(f"{SCHEDULE}#hours-heading", status_code=303, headers=HEADERS)

    @post("/schedule/holiday/{day:str}/remove", guards=EDIT, sync_to_thread=True)
    def remove_holiday(self, request: AnyRequest, day: FromPath[str], data: Form) -> Response[Any]:
        check_csrf(session_of(request), data)
        try:
            console_of(request).schedule.remove_holiday(day, actor(request))
        except ConsoleError as exc:
            return _page(request, 404, error=exc.message)
        return Redirect(f"{SCHEDULE}#holiday-heading", status_code=303, headers=HEADERS)

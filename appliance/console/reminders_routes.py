"""The reminders screen's route (permission see-reminders): appliance.console.reminders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Response

from appliance.console.guard import GuardedController, console_of, requires, session_of
from appliance.console.pages import page
from appliance.console.roles import Permission

AnyRequest = Request[Any, Any, Any]
SEE = [requires(Permission.SEE_REMINDERS)]


def _day(text: str, today: date) -> tuple[date, bool]:
    """The date asked for (YYYY-MM-DD), else today; whether the text was usable."""
    if not text.strip():
        return today, True
    try:
        return date.fromisoformat(text.strip()[:10]), True
    except ValueError:
        return today, False


class RemindersController(GuardedController):
    @get("/reminders", guards=SEE, sync_to_thread=True)
    def reminders(self, request: AnyRequest, day: FromQuery[str] = "") -> Response[str]:
        console = console_of(request)
        reminders = console.reminders
        if reminders is None:
            return page("reminders.html", session=session_of(request), off=True)
        now = datetime.fromtimestamp(console.now(), reminders.zone)
        chosen, valid = _day(day, now.date())
        report, plan = reminders.day(chosen, now)
        return page(
            "reminders.html",
            session=session_of(request),
            off=False,
            day=chosen.isoformat(),
            valid=valid,
            report=report,
            plan=plan,
        )

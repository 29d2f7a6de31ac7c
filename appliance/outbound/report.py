"""The day's reminder results, for the contact-centre lead without the console:
`appliance reminders report --date D [--json]`. Counts and codes only (no number, name,
patient or appointment id): what a report printed or mailed may carry.

For the appointments on clinic date D (whatever their status now):
- attempts per outcome (answered, voicemail, busy, no-answer, failed), from the dial
  attempts the limits count;
- confirmed, cancelled and rescheduled: the `reminder.confirmed` / `reminder.cancelled`
  / `reminder.rescheduled` audit records (a moved appointment counts on its new date);
- opt-outs on reminder calls: calls of those appointments in which a consent was revoked
  by the callee (`consent.revoked`, reason `call`), one per call;
- not dialled, by the planner's reason now (dnc, no-consent, consent-revoked, no-number,
  attempts-exhausted, outside-window, ...; `pending` when it may still be called), for
  the booked ones never dialled.
Beside them, inbound opt-outs: inbound calls on day D (clinic time) in which a caller
had their number put on the do-not-call list (appliance.outbound.inbound_optout).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appliance.outbound.planner import Planner
from appliance.store.db import Connection, Database

OUTCOMES = ("answered", "voicemail", "busy", "no-answer", "failed")


@dataclass(slots=True)
class DayReport:
    day: str  # YYYY-MM-DD, clinic date
    appointments: int = 0
    dialled: int = 0  # appointments with at least one attempt
    attempts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    confirmed: int = 0
    cancelled: int = 0
    rescheduled: int = 0  # moved on the call (appliance.outbound.reminder_move)
    opt_outs: int = 0  # on the day's reminder calls
    inbound_opt_outs: int = 0  # said on inbound calls that day
    not_dialled: dict[str, int] = field(default_factory=dict)  # reason -> appointments

    def public(self) -> dict[str, object]:
        return {
            "date": self.day,
            "appointments": self.appointments,
            "dialled": self.dialled,
            "attempts": dict(self.attempts),
            "confirmed": self.confirmed,
            "cancelled": self.cancelled,
            "rescheduled": self.rescheduled,
            "opt_outs": self.opt_outs,
            "inbound_opt_outs": self.inbound_opt_outs,
            "not_dialled": dict(sorted(self.not_dialled.items())),
        }

    def lines(self) -> list[str]:
        attempts = ", ".join(f"{k} {v}" for k, v in self.attempts.items())
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.not_dialled.items())) or "none"
        return [
            f"reminders for {self.day}: {self.appointments} appointments, {self.dialled} dialled",
            f"attempts: {sum(self.attempts.values())} ({attempts})",
            f"confirmed {self.confirmed}, cancelled {self.cancelled},"
            f" rescheduled {self.rescheduled}",
            f"opt-outs: {self.opt_outs} on reminder calls, {self.inbound_opt_outs} inbound",
            f"not dialled: {skipped}",
        ]


def day_report(
    db: Database, planner: Planner, zone: ZoneInfo, day: date, now: datetime
) -> DayReport:
    """The report for clinic date `day`, the planner's reasons as of `now` (aware)."""
    report = DayReport(day.isoformat())
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)  # 23-25 h on DST days
    dialled = db.query(_counts, report, (start.timestamp(), end.timestamp()))
    never = Counter(
        "pending" if d.action != "excluded" else d.reason or "excluded"
        for d in planner.plan(day, now)
        if d.appointment_id not in dialled
    )
    gone = report.appointments - report.dialled - sum(never.values())
    if gone > 0:  # cancelled or moved before any dial
        never["not-booked"] = gone
    report.not_dialled = dict(never)
    return report


def _counts(conn: Connection, report: DayReport, span: tuple[float, float]) -> set[str]:
    """Fill in the counts from the store; the ids of the appointments dialled."""
    ids = [
        str(r[0])
        for r in conn.execute(
            "SELECT id FROM appointments WHERE start_utc >= ? AND start_utc < ?",
            (int(span[0]), int(span[1])),
        )
    ]
    report.appointments = len(ids)
    dialled: set[str] = set()
    calls: set[str] = set()
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        for appointment_id, outcome in conn.execute(
            f"SELECT appointment_id, outcome FROM outbound_attempts"  # noqa: S608
            f" WHERE appointment_id IN ({marks})",
            chunk,
        ):
            dialled.add(str(appointment_id))
            report.attempts[str(outcome)] = report.attempts.get(str(outcome), 0) + 1
        for action, call_id in conn.execute(
            f"SELECT action, call_id FROM audit WHERE object_type = 'appointment'"  # noqa: S608
            f" AND action LIKE 'reminder.%' AND object_id IN ({marks})",
            chunk,
        ):
            report.confirmed += action == "reminder.confirmed"
            report.cancelled += action == "reminder.cancelled"
            report.rescheduled += action == "reminder.rescheduled"
            if action == "reminder.call" and call_id:
                calls.add(str(call_id))
    report.dialled = len(dialled)
    report.opt_outs = _opted_out_calls(conn, calls)
    report.inbound_opt_outs = _inbound_opt_outs(conn, span)
    return dialled


def _opted_out_calls(conn: Connection, calls: set[str]) -> int:
    """Reminder calls in which the callee opted out (a consent revoked or a number listed
    under the call's id: only an opt-out does either during a call)."""
    rows = conn.execute(
        "SELECT DISTINCT call_id FROM audit WHERE action IN ('consent.revoked', 'dnc.added')"
        " AND call_id IS NOT NULL"
    )
    return sum(1 for r in rows if str(r[0]) in calls)


def _inbound_opt_outs(conn: Connection, span: tuple[float, float]) -> int:
    rows = conn.execute(
        "SELECT call_id, at FROM audit WHERE action IN ('consent.revoked', 'dnc.added')"
        " AND actor_role = 'caller' AND call_id IS NOT NULL"
    )
    within = {
        str(r[0])
        for r in rows
        if span[0] <= datetime.fromisoformat(str(r[1])).timestamp() < span[1]
    }
    return len(within)


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]

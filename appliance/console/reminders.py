"""The reminders screen for the contact-centre lead: one clinic date's results (the
figures of `appliance reminders report`, appliance.outbound.report: counts and codes
only) and its plan (`appliance reminders plan`, appliance.outbound.planner: what would be
called, when, and why each excluded one is excluded). The plan shows appointment ids and
reason codes, never a patient's name, number or pseudonymous key. The route:
appliance.console.reminders_routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from appliance.config import Settings
from appliance.outbound.planner import Planner
from appliance.outbound.report import DayReport, day_report
from appliance.store.db import Database


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One appointment's decision, as the page shows it (no PHI, no pseudonym)."""

    appointment_id: str
    action: str  # call-now | later | excluded
    at: str  # clinic date and time of the call (call-now, later), "" otherwise
    reason: str  # why excluded or why later ("" for call-now)
    zone_basis: str  # where the callee's zone came from


@dataclass(frozen=True, slots=True)
class Reminders:
    db: Database
    planner: Planner
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> Reminders:
        """With the planner's settings and the store's caller-hash key (as the CLI)."""
        from appliance.store.bootstrap import audit_key
        from appliance.store.pseudonyms import caller_hash_key

        key = caller_hash_key(audit_key(settings))
        zone = ZoneInfo(settings.clinic.timezone)
        return cls(db, Planner.from_settings(db, key, settings), zone)

    def day(self, day: date, now: datetime) -> tuple[DayReport, list[PlanRow]]:
        """The date's figures and plan, as of `now` (aware)."""
        report = day_report(self.db, self.planner, self.zone, day, now)
        rows = [
            PlanRow(
                d.appointment_id,
                d.action,
                d.at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if d.at else "",
                d.reason or "",
                d.zone_basis or "",
            )
            for d in self.planner.plan(day, now)
        ]
        return report, rows

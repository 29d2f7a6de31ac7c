"""The schedule screen on the real store: a contact-centre lead adds a provider, an
appointment type, working hours and a holiday; the built-in schedule (the agent's
backend) then offers those slots and none on the holiday; a refused form keeps what was
typed; every change is audited naming the user, with ids only; patients are not shown."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.console.service import Console
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.scheduling.model import SlotQuery
from appliance.store.db import Database
from tests.integration import test_console_screens as screens
from tests.integration.console_seed import Seeded
from tests.integration.test_console_screens import WallClock, audit_log, csrf_of, sign_in_as

pytestmark = pytest.mark.integration
db, clock, seeded, console, app = (
    screens.db,
    screens.clock,
    screens.seeded,
    screens.console,
    screens.app,
)
TZ = ZoneInfo("America/Chicago")
MONDAY = date(2031, 3, 3)  # far ahead of the wall clock
PATIENT = "Quentin Patientname"


def slots_on(db: Database, day: date) -> list[str]:
    schedule = BuiltinSchedule(db, TZ, now=lambda: datetime(2031, 3, 1, 8, tzinfo=TZ))
    found = asyncio.run(schedule.find_slots(SlotQuery("checkup", day=day, limit=10)))
    return [f"{s.provider_id} {s.start.strftime('%H:%M')}" for s in found]


def test_a_lead_edits_the_schedule_and_the_agent_offers_it(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    db.execute(
        lambda c: c.execute(
            "INSERT INTO patients VALUES ('p1', 'Quentin', 'Patientname', '1950-01-01', '')"
        )
    )
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "lena", "contact-centre-lead")

        def post(path: str, **form: str) -> int:
            data = {"csrf": csrf_of(client), **form}
            return client.post(path, data=data, follow_redirects=False).status_code

        assert post("/console/schedule/provider", id="dr-lee", name="Dr Lee", specialty="GP") == 303
        assert post("/console/schedule/type", id="checkup", name="Check-up", minutes="30") == 303
        args = {"provider": "dr-lee", "weekday": "mon", "start": "09:00", "end": "10:00"}
        assert post("/console/schedule/hours", **args) == 303
        assert post("/console/schedule/hours", **{**args, "start": "09:30"}) == 409  # overlap
        assert post("/console/schedule/hours", **{**args, "provider": "dr-who"}) == 404
        bad = client.post(
            "/console/schedule/type",
            data={"csrf": csrf_of(client), "id": "long", "name": "Very long", "minutes": "999"},
        )
        assert bad.status_code == 400 and 'value="Very long"' in bad.text  # typed, kept
        assert 'role="alert"' in bad.text
        forged = client.post(
            "/console/schedule/holiday", data={"csrf": "x", "day": "2031-03-10", "name": "X"}
        )
        assert forged.status_code == 403
        page = client.get("/console/schedule").text
        assert "Dr Lee" in page and "Check-up" in page and "09:00-10:00" in page
        assert PATIENT.split()[0] not in page  # patients are not shown
        assert slots_on(db, MONDAY) == ["dr-lee 09:00", "dr-lee 09:30"]
        assert post("/console/schedule/holiday", day="2031-03-03", name="Clinic closed") == 303
        assert post("/console/schedule/holiday", day="2031-02-30", name="No such day") == 400
        assert slots_on(db, MONDAY) == []  # no slots on a holiday
        assert slots_on(db, MONDAY + timedelta(7)) == ["dr-lee 09:00", "dr-lee 09:30"]
        assert (
            post("/console/schedule/provider", id="dr-lee", name="Dr Lee-Smith", specialty="")
            == 303
        )
        assert post("/console/schedule/holiday/2031-03-03/remove") == 303
        assert post("/console/schedule/holiday/2031-03-03/remove") == 404
        assert slots_on(db, MONDAY) == ["dr-lee 09:00", "dr-lee 09:30"]
        row = console.schedule.read().hours[0].row
        assert post(f"/console/schedule/hours/{row}/remove") == 303
        assert slots_on(db, MONDAY) == []
        assert "Dr Lee-Smith" in client.get("/console/schedule").text
    log = [a for a in audit_log(db) if a[1].startswith("schedule.")]
    assert log == [
        ("lena", "schedule.provider.save", "dr-lee", "ok", None),
        ("lena", "schedule.type.save", "checkup", "ok", None),
        ("lena", "schedule.hours.add", "dr-lee@mon", "ok", None),
        ("lena", "schedule.holiday.add", "2031-03-03", "ok", None),
        ("lena", "schedule.provider.save", "dr-lee", "ok", None),
        ("lena", "schedule.holiday.remove", "2031-03-03", "ok", None),
        ("lena", "schedule.hours.remove", "dr-lee@mon", "ok", None),
    ]
    assert "Clinic closed" not in repr(audit_log(db))  # ids, not text

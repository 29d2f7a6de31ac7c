"""The reminder planner on the real SQLCipher store and a virtual clock: consent, DNC,
revocation at once, windows across zones, holidays, attempt limits, no PHI shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from appliance.errors import OutboundError, StoreError
from appliance.outbound.ledger import ConsentGrant, Ledger
from appliance.outbound.numbers import number_hash, number_key
from appliance.outbound.planner import Decision, Limits, Planner
from appliance.store.db import Database
from tests.integration.outbound_support import KEY as HASH_KEY
from tests.integration.outbound_support import (
    NY,
    PATIENTS,
    attempt,
    audit_rows,
    book,
    consent,
    ledger,
    open_store,
)

pytestmark = pytest.mark.integration

TUESDAY = date(2026, 11, 24)
WEDNESDAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=NY)
GIVEN = datetime(2026, 10, 1, 9, 0, tzinfo=NY)


def when(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), NY)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "o.db")
    yield store
    store.close()


@pytest.fixture
def book_of(db: Database) -> Ledger:
    return ledger(db)


def planner(db: Database, per_day: int = 2, per_appointment: int = 3) -> Planner:
    return Planner(db, HASH_KEY, (NY, time(9), time(20)), Limits(per_day, per_appointment))


def by_id(decisions: list[Decision]) -> dict[str, Decision]:
    return {d.appointment_id: d for d in decisions}


def test_consent_dnc_and_numbers_decide_who_is_called(db: Database, book_of: Ledger) -> None:
    for i, patient in enumerate(("p1", "p2", "p3", "p4", "p5", "p6"), start=1):
        book(db, f"a{i}", patient, when(WEDNESDAY, f"1{i}:00"))
    for patient, number in (("p1", "+15550100001"), ("p3", "+15550100003")):
        consent(book_of, patient, number, GIVEN)
    consent(book_of, "p4", "+12125550144", GIVEN)
    consent(book_of, "p5", "+13105550155", GIVEN)
    book_of.add_dnc("+1 555 010 0003", "import", NOW.timestamp(), "imported")
    plan = by_id(planner(db).plan(WEDNESDAY, NOW))
    assert [(k, d.action, d.reason, d.zone_basis) for k, d in plan.items()] == [
        ("a1", "call-now", None, "unknown"),
        ("a2", "excluded", "no-consent", None),
        ("a3", "excluded", "dnc", None),
        ("a4", "call-now", None, "area-code"),
        ("a5", "later", "outside-window", "area-code"),  # 07:05 in Los Angeles
        ("a6", "excluded", "no-number", None),
    ]
    assert plan["a1"].at == NOW and plan["a5"].at == when(TUESDAY, "11:00")
    assert plan["a1"].number == number_key(number_hash(HASH_KEY, "+15550100001"))
    assert plan["a4"].contact.number == "+12125550144"


def test_a_revocation_or_an_opt_out_takes_effect_at_once(db: Database, book_of: Ledger) -> None:
    book(db, "a1", "p1", when(WEDNESDAY, "10:00"))
    book(db, "a4", "p4", when(WEDNESDAY, "11:00"))
    consent(book_of, "p1", "+15550100001", GIVEN)
    consent(book_of, "p4", "+12125550144", GIVEN)
    assert [d.action for d in planner(db).plan(WEDNESDAY, NOW)] == ["call-now", "call-now"]
    assert book_of.revoke("p1", "+15550100001", "front-desk", NOW.timestamp()) == 1
    assert book_of.opt_out("(212) 555-0144", "call", NOW.timestamp() + 1) == 1
    plan = by_id(planner(db).plan(WEDNESDAY, NOW + timedelta(seconds=2)))
    assert (plan["a1"].action, plan["a1"].reason) == ("excluded", "consent-revoked")
    assert (plan["a4"].action, plan["a4"].reason) == ("excluded", "dnc")
    assert book_of.consent("p4", "+12125550144") == "revoked" and book_of.on_dnc("2125550144")
    assert not book_of.on_dnc("+15550100001")  # a revocation alone lists nothing
    actions = [(r[0], r[3]) for r in audit_rows(db)]
    assert actions[-3:] == [
        ("consent.revoked", "front-desk"),
        ("consent.revoked", "call"),
        ("dnc.added", "internal"),
    ]
    consent(book_of, "p1", "+15550100001", GIVEN + timedelta(days=60))  # consent again
    assert planner(db).plan(WEDNESDAY, NOW)[0].action == "call-now"


def test_a_ledger_number_with_consent_is_called_when_the_records_has_none(
    db: Database, book_of: Ledger
) -> None:
    book(db, "a2", "p2", when(WEDNESDAY, "10:00"))
    consent(book_of, "p2", "+1 212 555 0177", GIVEN)
    [decision] = planner(db).plan(WEDNESDAY, NOW)
    assert decision.action == "call-now" and decision.contact.number == "+12125550177"


def test_no_window_left_before_the_appointment_excludes_it(db: Database, book_of: Ledger) -> None:
    book(db, "early", "p1", when(WEDNESDAY, "08:45"))
    book(db, "later", "p1", when(WEDNESDAY, "09:30"))
    consent(book_of, "p1", "+15550100001", GIVEN)
    plan = by_id(planner(db).plan(WEDNESDAY, when(TUESDAY, "20:30")))
    assert (plan["early"].action, plan["early"].reason) == ("excluded", "outside-window")
    assert (plan["later"].action, plan["later"].at) == ("later", when(WEDNESDAY, "09:00"))
    past = planner(db).plan(WEDNESDAY, when(WEDNESDAY, "09:45"))  # both have begun
    assert [d.reason for d in past] == ["outside-window", "outside-window"]


def test_clinic_holidays_are_skipped(db: Database, book_of: Ledger) -> None:
    thanksgiving, friday = date(2026, 11, 26), date(2026, 11, 27)
    book(db, "f1", "p1", when(friday, "08:30"))
    book(db, "f2", "p1", when(friday, "10:00"))
    consent(book_of, "p1", "+15550100001", GIVEN)
    plan = by_id(planner(db).plan(friday, when(thanksgiving, "10:00")))
    assert (plan["f1"].action, plan["f1"].reason) == ("excluded", "holiday")
    assert (plan["f2"].action, plan["f2"].reason) == ("later", "holiday")
    assert plan["f2"].at == when(friday, "09:00")


def test_attempt_limits_per_appointment_and_per_day(db: Database, book_of: Ledger) -> None:
    book(db, "w1", "p1", when(WEDNESDAY, "10:00"))
    book(db, "t1", "p1", when(TUESDAY, "16:00"))
    consent(book_of, "p1", "+15550100001", GIVEN)
    yesterday = when(TUESDAY, "10:00") - timedelta(days=1)
    attempt(book_of, "w1", "+15550100001", yesterday.timestamp(), "no-answer")
    assert planner(db, per_day=1).plan(WEDNESDAY, NOW)[0].action == "call-now"
    attempt(book_of, "w1", "+15550100001", when(TUESDAY, "09:10").timestamp(), "busy")
    # today's one attempt used: tomorrow's window, which opens before the appointment
    [tomorrow] = planner(db, per_day=1).plan(WEDNESDAY, NOW)
    assert (tomorrow.action, tomorrow.reason) == ("later", "attempts-exhausted")
    assert tomorrow.at == when(WEDNESDAY, "09:00")
    [today] = planner(db, per_day=1).plan(TUESDAY, NOW)  # no window left before 16:00
    assert (today.action, today.reason) == ("excluded", "attempts-exhausted")
    assert planner(db, per_day=5).plan(TUESDAY, NOW)[0].action == "call-now"
    [spent] = planner(db, per_day=5, per_appointment=2).plan(WEDNESDAY, NOW)
    assert (spent.action, spent.reason) == ("excluded", "attempts-exhausted")


def test_the_patients_record_zone_is_honoured(db: Database, book_of: Ledger) -> None:
    book(db, "a1", "p1", when(WEDNESDAY, "12:00"))
    consent(book_of, "p1", "+15550100001", GIVEN)
    book_of.set_patient_zone("p1", "America/Los_Angeles", NOW.timestamp())
    [decision] = planner(db).plan(WEDNESDAY, NOW)
    assert (decision.action, decision.zone_basis) == ("later", "record")
    assert decision.at == when(TUESDAY, "11:00")  # 08:00 in Los Angeles


def test_cancelled_and_other_days_appointments_are_not_planned(
    db: Database, book_of: Ledger
) -> None:
    book(db, "a1", "p1", when(WEDNESDAY, "10:00"))
    book(db, "a2", "p1", when(WEDNESDAY, "23:30"))
    book(db, "x", "p1", when(TUESDAY, "12:00"))
    db.execute(lambda c: c.execute("UPDATE appointments SET status = 'cancelled' WHERE id = 'a1'"))
    assert [d.appointment_id for d in planner(db).plan(WEDNESDAY, NOW)] == ["a2"]


def test_plans_and_audit_records_carry_no_phi(db: Database, book_of: Ledger) -> None:
    for i, patient in enumerate(("p1", "p2", "p4", "p5", "p6"), start=1):
        book(db, f"a{i}", patient, when(WEDNESDAY, f"1{i}:00"))
        consent(book_of, patient, "+12125559900", GIVEN)
    book_of.set_patient_zone("p4", "America/Chicago", NOW.timestamp())
    book_of.opt_out("+12125550144", "call", NOW.timestamp())
    shown = json.dumps([d.public() for d in planner(db).plan(WEDNESDAY, NOW)])
    shown += json.dumps(audit_rows(db))
    phi = ["Maria", "Gonzalez", "2125550144", "2125559900", "5550100001", "Ruiz", "Dunn"]
    phi += [f'"{p}"' for p in ("p1", "p2", "p4", "p5", "p6", *PATIENTS)]
    assert [v for v in phi if v in shown] == []
    assert "pt-" in shown and "pn-" in shown and "consent-" in shown


def test_a_consent_of_another_kind_supersedes_the_one_in_force(
    db: Database, book_of: Ledger
) -> None:
    first = ConsentGrant("p1", "+15550100001", "prior-express", "front-desk", GIVEN.timestamp())
    assert book_of.grant(first) and not book_of.grant(first)
    later = GIVEN.timestamp() + 3600
    assert book_of.grant(ConsentGrant("p1", "+15550100001", "written", "form", later, "::1"))
    rows = db.query(
        lambda c: c.execute(
            "SELECT kind, revoked_at, revoked_source FROM outbound_consents ORDER BY id"
        ).fetchall()
    )
    assert [tuple(r) for r in rows] == [
        ("prior-express", later, "superseded"),
        ("written", None, None),
    ]
    assert book_of.consent("p1", "+15550100001") == "active"
    with pytest.raises(StoreError) as err:  # the ledger keeps every entry
        db.execute(lambda c: c.execute("DELETE FROM outbound_consents"))
    assert err.value.code == "store-write-failed"


@pytest.mark.parametrize(
    "grant",
    [
        ConsentGrant("p1", "555-0100", "written", "form", 0.0),
        ConsentGrant("p1", "+15550100001", "verbal", "form", 0.0),
        ConsentGrant("p1", "+15550100001", "written", "email", 0.0),
    ],
)
def test_the_ledger_refuses_a_bad_consent(book_of: Ledger, grant: ConsentGrant) -> None:
    with pytest.raises(OutboundError) as err:
        book_of.grant(grant)
    assert err.value.code == "outbound-bad-consent"

"""Strict CSV import of consents and do-not-call numbers on the real SQLCipher store:
coded errors per bad row (never the value), all or nothing, each change audited; and the
CLI (`appliance consent import`, `dnc import`, `reminders plan`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.config import load_settings
from appliance.errors import OutboundError
from appliance.outbound.csv_import import ImportRejected, import_consent, import_dnc
from appliance.outbound.ledger import Actor
from appliance.store.bootstrap import open_database
from appliance.store.db import Database
from tests.conftest import store_config
from tests.integration.outbound_support import (
    KEY,
    STORE_MIGRATIONS,
    audit_rows,
    book,
    open_store,
)

pytestmark = pytest.mark.integration

NOW = datetime.fromisoformat("2026-11-24T10:05:00-05:00").timestamp()
ACTOR = Actor("tester", "operator", "test")
HEADER = "patient_id,number,type,source,given_at,ip,zone\n"
GOOD = (
    HEADER
    + "p1,+1 555 010 0001,written,form,2026-10-01T09:00:00-04:00,203.0.113.7,America/Chicago\n"
    "p4,(212) 555-0144,prior-express,front-desk,2026-10-02T14:30:00Z,,\n"
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "o.db")
    yield store
    store.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def count(db: Database, table: str) -> int:
    return int(db.query(lambda c: c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]))


def test_a_good_file_is_imported_once_and_audited(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "consent.csv", GOOD)
    assert import_consent(db, KEY, path, ACTOR, NOW) == (2, 0)
    assert import_consent(db, KEY, path, ACTOR, NOW) == (0, 2)  # idempotent
    assert count(db, "outbound_consents") == 2
    actions = [(r[0], r[3]) for r in audit_rows(db)]
    assert actions == [
        ("consent.granted", "written"),
        ("patient.zone-set", "record-zone"),
        ("consent.granted", "prior-express"),
    ]
    row = db.query(
        lambda c: c.execute(
            "SELECT number, source, ip FROM outbound_consents WHERE id = 1"
        ).fetchone()
    )
    assert tuple(row) == ("+15550100001", "form", "203.0.113.7")


def test_every_bad_row_is_reported_by_code_and_nothing_is_written(
    db: Database, tmp_path: Path
) -> None:
    bad = (
        GOOD
        + "p2,555-0123,written,form,2026-10-01T09:00:00-04:00,,\n"  # line 4
        + "p2,+15550100002,verbal,form,2026-10-01T09:00:00-04:00,,\n"
        + "p2,+15550100002,written,email,2026-10-01T09:00:00-04:00,,\n"
        + "p2,+15550100002,written,form,2026-10-01T09:00:00,,\n"  # no offset
        + "p2,+15550100002,written,form,2027-01-01T09:00:00-05:00,,\n"  # in the future
        + "p2,+15550100002,written,form,2026-10-01T09:00:00-04:00,300.1.1.1,\n"
        + "p2,+15550100002,written,form,2026-10-01T09:00:00-04:00,,Mars/Olympus\n"
        + "p2,+15550100002,written,form\n"  # line 11
        + ",+15550100002,written,form,2026-10-01T09:00:00-04:00,,\n"
        + "p4,212.555.0144,written,form,2026-10-01T09:00:00-04:00,,\n"  # p4 twice
    )
    with pytest.raises(ImportRejected) as err:
        import_consent(db, KEY, write(tmp_path, "consent.csv", bad), ACTOR, NOW)
    assert [(e.line, e.column, e.code) for e in err.value.errors] == [
        (4, "number", "consent-bad-number"),
        (5, "type", "consent-bad-type"),
        (6, "source", "consent-bad-source"),
        (7, "given_at", "consent-bad-given-at"),
        (8, "given_at", "consent-bad-given-at"),
        (9, "ip", "consent-bad-ip"),
        (10, "zone", "consent-bad-zone"),
        (11, "*", "import-bad-columns"),
        (12, "patient_id", "consent-bad-patient-id"),
        (13, "number", "consent-duplicate-row"),
    ]
    assert err.value.code == "import-rejected"
    assert "555" not in " ".join(str(e) for e in err.value.errors) + str(err.value)
    assert count(db, "outbound_consents") == 0 and audit_rows(db) == []


def test_an_unknown_patient_rejects_the_whole_file(db: Database, tmp_path: Path) -> None:
    text = GOOD + "nobody,+15550109999,written,form,2026-10-01T09:00:00-04:00,,\n"
    with pytest.raises(ImportRejected) as err:
        import_consent(db, KEY, write(tmp_path, "consent.csv", text), ACTOR, NOW)
    assert [(e.line, e.code) for e in err.value.errors] == [(4, "consent-unknown-patient")]
    assert count(db, "outbound_consents") == 0 and count(db, "outbound_patient_zones") == 0
    assert audit_rows(db) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "patient_id,number,type,source,given_at,ip\n",  # a column short
        "number,patient_id,type,source,given_at,ip,zone\n",  # out of order
        HEADER.replace("zone", "zone,note"),
    ],
)
def test_a_wrong_header_is_refused(db: Database, tmp_path: Path, text: str) -> None:
    with pytest.raises(OutboundError) as err:
        import_consent(db, KEY, write(tmp_path, "consent.csv", text), ACTOR, NOW)
    assert err.value.code == "import-bad-header"


def test_dnc_import_is_strict_and_audited(db: Database, tmp_path: Path) -> None:
    bad = write(tmp_path, "dnc.csv", "number\n+12125550144\nnot a number\n212-555-0144\n1,2\n")
    with pytest.raises(ImportRejected) as err:
        import_dnc(db, KEY, bad, ACTOR, NOW)
    assert [(e.line, e.code) for e in err.value.errors] == [
        (3, "dnc-bad-number"),
        (4, "dnc-duplicate-row"),
        (5, "import-bad-columns"),
    ]
    assert count(db, "outbound_dnc") == 0
    good = write(tmp_path, "dnc.csv", "number\n+12125550144\n(310) 555-0155\n")
    assert import_dnc(db, KEY, good, ACTOR, NOW) == (2, 0)
    assert import_dnc(db, KEY, good, ACTOR, NOW) == (0, 2)
    assert [(r[0], r[3]) for r in audit_rows(db)] == [("dnc.added", "imported")] * 2


def test_the_cli_imports_plans_and_audits_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path)
    settings = load_settings(config)
    db = open_database(settings, STORE_MIGRATIONS, create=True)
    db.close()
    run = ["--config", str(config)]
    consent_file = write(tmp_path, "consent.csv", GOOD)
    db = open_database(settings, STORE_MIGRATIONS)
    try:
        from appliance.scheduling.importer import import_directory
        from tests.integration.outbound_support import ASSETS, NY

        import_directory(db, ASSETS)
        db.execute(
            lambda c: c.execute("INSERT INTO patients VALUES ('p4','Ana','Ruiz','1970-01-01','')")
        )
        book(db, "a1", "p1", datetime(2026, 11, 25, 10, tzinfo=NY))
    finally:
        db.close()
    assert main([*run, "consent", "import", str(consent_file)]) == 0
    assert "consent: 2 added, 0 already recorded" in capsys.readouterr().out
    assert main([*run, "dnc", "import", str(write(tmp_path, "d.csv", "number\n+1 5550109\n"))]) == 2
    assert "line 2: number: dnc-bad-number" in capsys.readouterr().out
    plan = [*run, "reminders", "plan", "--date", "2026-11-25", "--now", "2026-11-24T10:05-05:00"]
    assert main([*plan, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["appointment_id"], row["action"], row["zone_basis"]) == ("a1", "call-now", "record")
    assert main(plan) == 0
    text = capsys.readouterr().out
    assert "outbound off" in text and "Maria" not in text and "5550100001" not in text
    assert main([*plan, "--show"]) == 0
    assert "Maria Gonzalez +15550100001" in capsys.readouterr().out
    db = open_database(settings, STORE_MIGRATIONS)
    try:
        assert audit_rows(db)[-1][:3] == ("phi.read", "appointment", "a1")
    finally:
        db.close()

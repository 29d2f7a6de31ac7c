"""`appliance consent import` and `appliance dnc import`: strict CSV, all or nothing.

consent.csv  patient_id,number,type,source,given_at,ip,zone
             type: prior-express | written; source: form | front-desk | import;
             given_at: ISO 8601 with its UTC offset, not in the future; ip, zone: may be
             empty (zone: an IANA name, the patient's record zone)
dnc.csv      number
The header must be exactly that. Every bad row is reported by line, column and code (never
its value: the file is PHI); one bad row and nothing is written. Each change is audited
in the same transaction (appliance.outbound.ledger).
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from appliance.errors import OutboundError
from appliance.outbound.ledger import (
    CONSENT_KINDS,
    CONSENT_SOURCES,
    Actor,
    ConsentGrant,
    add_dnc_in,
    check_zone,
    insert_grant,
    set_zone_in,
)
from appliance.outbound.numbers import e164, number_hash
from appliance.store.db import Connection, Database

CONSENT_HEADER = ("patient_id", "number", "type", "source", "given_at", "ip", "zone")
DNC_HEADER = ("number",)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    code: str  # e.g. consent-bad-number; never the value

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.code}"


class ImportRejected(OutboundError):
    """The file had bad rows: nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("import-rejected", f"{len(errors)} bad row(s): nothing imported")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class _ConsentRow:
    line: int
    grant: ConsentGrant
    zone: str


def _records(path: Path, header: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each data row; raises import-bad-header / import-bad-file."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, strict=True)
            first = next(reader, None)
            if first is None or tuple(c.strip() for c in first) != header:
                raise OutboundError("import-bad-header", f"the header must be {','.join(header)}")
            for fields in reader:
                if fields:  # blank lines are not rows
                    yield reader.line_num, fields
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise OutboundError("import-bad-file", f"{path.name}: {type(exc).__name__}") from None


def _when(value: str, now: float) -> float:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None or moment.timestamp() > now:
        raise ValueError("naive or future")
    return moment.timestamp()


def _check(value: str, test: Callable[[str], object]) -> bool:
    try:
        test(value)
    except (ValueError, OutboundError):
        return False
    return True


def _consent_errors(line: int, f: dict[str, str], now: float) -> list[RowError]:
    checks: list[tuple[str, bool]] = [
        ("patient_id", bool(f["patient_id"])),
        ("number", e164(f["number"]) is not None),
        ("type", f["type"] in CONSENT_KINDS),
        ("source", f["source"] in CONSENT_SOURCES),
        ("given_at", _check(f["given_at"], lambda v: _when(v, now))),
        ("ip", not f["ip"] or _check(f["ip"], ipaddress.ip_address)),
        ("zone", not f["zone"] or _check(f["zone"], check_zone)),
    ]
    return [
        RowError(line, col, f"consent-bad-{col.replace('_', '-')}") for col, ok in checks if not ok
    ]


def parse_consent(path: Path, now: float) -> tuple[list[_ConsentRow], list[RowError]]:
    rows: list[_ConsentRow] = []
    errors: list[RowError] = []
    seen: set[tuple[str, str]] = set()
    for line, fields in _records(path, CONSENT_HEADER):
        if len(fields) != len(CONSENT_HEADER):
            errors.append(RowError(line, "*", "import-bad-columns"))
            continue
        f = {name: value.strip() for name, value in zip(CONSENT_HEADER, fields, strict=True)}
        bad = _consent_errors(line, f, now)
        if bad:
            errors += bad
            continue
        number = e164(f["number"]) or ""
        if (f["patient_id"], number) in seen:
            errors.append(RowError(line, "number", "consent-duplicate-row"))
            continue
        seen.add((f["patient_id"], number))
        grant = ConsentGrant(
            f["patient_id"],
            number,
            f["type"],
            f["source"],
            _when(f["given_at"], now),
            f["ip"] or None,
        )
        rows.append(_ConsentRow(line, grant, f["zone"]))
    return rows, errors


def parse_dnc(path: Path) -> tuple[list[str], list[RowError]]:
    numbers: list[str] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for line, fields in _records(path, DNC_HEADER):
        number = e164(fields[0]) if len(fields) == 1 else None
        if len(fields) != 1:
            errors.append(RowError(line, "*", "import-bad-columns"))
        elif number is None:
            errors.append(RowError(line, "number", "dnc-bad-number"))
        elif number in seen:
            errors.append(RowError(line, "number", "dnc-duplicate-row"))
        else:
            seen.add(number)
            numbers.append(number)
    return numbers, errors


def import_consent(
    db: Database, key: bytes, path: Path, actor: Actor, now: float
) -> tuple[int, int]:
    """Import a consent file: (consents added, already in force). Raises ImportRejected."""
    rows, errors = parse_consent(path, now)
    if errors:
        raise ImportRejected(errors)
    return db.execute(_write_consent, db, key, rows, actor, now)


def _write_consent(
    conn: Connection, db: Database, key: bytes, rows: list[_ConsentRow], actor: Actor, now: float
) -> tuple[int, int]:
    known = {str(r[0]) for r in conn.execute("SELECT id FROM patients")}
    missing = [
        RowError(r.line, "patient_id", "consent-unknown-patient")
        for r in rows
        if r.grant.patient_id not in known
    ]
    if missing:
        raise ImportRejected(missing)  # rolls the transaction back: nothing written
    added = 0
    for row in rows:
        added += insert_grant(conn, db, key, row.grant, actor)
        if row.zone:
            set_zone_in(conn, db, key, row.grant.patient_id, row.zone, now, actor)
    return added, len(rows) - added


def import_dnc(db: Database, key: bytes, path: Path, actor: Actor, now: float) -> tuple[int, int]:
    """Add a file's numbers to the imported DNC list: (added, already there)."""
    numbers, errors = parse_dnc(path)
    if errors:
        raise ImportRejected(errors)

    def write(conn: Connection) -> int:
        return sum(
            add_dnc_in(conn, db, number_hash(key, n), "imported", "import", now, actor)
            for n in numbers
        )

    added = db.execute(write)
    return added, len(numbers) - added

"""Import the clinic's schedule from CSV files (one transaction: all or nothing).

Files in the directory (each optional, header row required):
  providers.csv          id,name,specialty
  appointment_types.csv  id,name,minutes
  working_hours.csv      provider_id,weekday,start,end      (weekday: mon..sun; HH:MM local)
  holidays.csv           date,name                           (YYYY-MM-DD)
  patients.csv           id,first_name,last_name,birth_date,phone
Errors name the file, line and column, never the value (patients.csv holds PHI).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from appliance.errors import SchedulingError
from appliance.store.db import Connection, Database

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(value: str) -> int:
    hours, _, minutes = value.strip().partition(":")
    total = int(hours) * 60 + int(minutes or 0)
    if not 0 <= total <= 1440:
        raise ValueError("time out of range")
    return total


def _weekday(value: str) -> int:
    return WEEKDAYS.index(value.strip().lower()[:3])


def _iso(value: str) -> str:
    return date.fromisoformat(value.strip()).isoformat()


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("empty")
    return value.strip()


TABLES: dict[str, tuple[str, list[tuple[str, Callable[[str], Any]]]]] = {
    "providers.csv": (
        "INSERT OR REPLACE INTO providers VALUES (?, ?, ?)",
        [("id", _text), ("name", _text), ("specialty", str.strip)],
    ),
    "appointment_types.csv": (
        "INSERT OR REPLACE INTO appointment_types VALUES (?, ?, ?)",
        [("id", _text), ("name", _text), ("minutes", int)],
    ),
    "working_hours.csv": (
        "INSERT INTO working_hours VALUES (?, ?, ?, ?)",
        [("provider_id", _text), ("weekday", _weekday), ("start", _minutes), ("end", _minutes)],
    ),
    "holidays.csv": (
        "INSERT OR REPLACE INTO holidays VALUES (?, ?)",
        [("date", _iso), ("name", _text)],
    ),
    "patients.csv": (
        "INSERT OR REPLACE INTO patients VALUES (?, ?, ?, ?, ?)",
        [
            ("id", _text),
            ("first_name", _text),
            ("last_name", _text),
            ("birth_date", _iso),
            ("phone", str.strip),
        ],
    ),
}


def _rows(path: Path, columns: list[tuple[str, Callable[[str], Any]]]) -> Iterator[list[Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c, _ in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise SchedulingError("import-bad-header", f"{path.name}: missing {missing}")
        for line, row in enumerate(reader, start=2):
            out = []
            for column, parse in columns:
                try:
                    out.append(parse(row[column] or ""))
                except (ValueError, TypeError):
                    raise SchedulingError(
                        "import-bad-row", f"{path.name}:{line}: bad value in column {column}"
                    ) from None
            yield out


Parsed = dict[str, list[list[Any]]]  # rows per CSV file name, parsed and checked


def parse_directory(directory: Path) -> Parsed:
    """Read and check every known CSV in `directory` (nothing is written)."""
    present = [name for name in TABLES if (directory / name).is_file()]
    if not present:
        raise SchedulingError("import-empty", f"no schedule CSV files in {directory}")
    return {name: list(_rows(directory / name, TABLES[name][1])) for name in present}


def write_parsed(conn: Connection, parsed: Parsed) -> dict[str, int]:
    """Write parsed rows inside the caller's transaction; return rows per file."""
    if "working_hours.csv" in parsed:
        conn.execute("DELETE FROM working_hours")
    for name, rows in parsed.items():
        conn.executemany(TABLES[name][0], rows)
    return {name: len(rows) for name, rows in parsed.items()}


def import_directory(db: Database, directory: Path) -> dict[str, int]:
    """Import every known CSV in `directory`; return rows per file. All or nothing."""
    return db.execute(write_parsed, parse_directory(directory))

"""The labelled understanding set (tests/assets/understanding) is well-formed and big enough.

Strict schema: known keys only, intents and outcomes from the fixed lists, slot values
well-formed, provider / appointment type / topic / patient ids that exist in the demo
clinic (appliance/demo/clinic), sizes as issue 14 asks, no caller line twice.
"""

from __future__ import annotations

import csv
import re
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SET = ROOT / "tests" / "assets" / "understanding"
CLINIC = ROOT / "appliance" / "demo" / "clinic"
LINE_FILES = {
    "tune": SET / "lines_tune.toml",
    "dev": SET / "lines_dev.toml",
    "dev2": SET / "lines_dev2.toml",
    "heldout": SET / "lines_heldout.toml",
}
# later authors' tuning files, each with a reference day of its own
LATER_FILES = {
    name: SET / f"lines_{name}.toml"
    for name in (
        "dev3",
        "dev4",
        "dev5",
        "dev6",
        "dev7",
        "dev8",
        "dev9",
        "dev10",
        "dev11",
        "dev12",
        "dev13",
    )
}
DIALOGUE_FILES = {"tune": SET / "dialogues_tune.toml", "heldout": SET / "dialogues_heldout.toml"}
REFERENCE_NOW = "2026-12-07T09:00:00"

INTENTS = {
    "book", "reschedule", "cancel", "appointment_status", "clinic_info", "refill", "billing",
    "test_results", "speak_to_person", "emergency", "goodbye", "inform", "other",
}  # fmt: skip
NO_SLOTS = {"emergency", "goodbye", "other"}
SLOT_KEYS = {"name", "dob", "day", "time", "part_of_day", "provider", "appointment_type", "topic"}
OUTCOMES = {
    "booked", "rescheduled", "cancelled", "status", "answered", "transferred", "emergency",
    "payment", "ended",
}  # fmt: skip
REASONS = {"caller-request", "high-risk-use-case", "identity-failed", "not-understood"}
EXPECT_KEYS = {
    "outcome", "appointment_type", "provider", "patient", "reason", "topic", "identity_asked",
}  # fmt: skip
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
]  # fmt: skip
NAME = re.compile(r"^[A-Z][A-Za-z'\-]*( [A-Z][A-Za-z'\-]*){0,3}$")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _ids(name: str) -> set[str]:
    with (CLINIC / name).open(newline="", encoding="utf-8") as fh:
        return {row["id"] for row in csv.DictReader(fh)}


def known_ids() -> dict[str, set[str]]:
    kb = tomllib.loads((CLINIC / "kb.toml").read_text("utf-8"))
    return {
        "provider": _ids("providers.csv"),
        "appointment_type": _ids("appointment_types.csv"),
        "patient": _ids("patients.csv"),
        "topic": {t["id"] for t in kb["topic"]},
    }


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _iso(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _words_named(text: str, names: list[str]) -> set[int]:
    lowered = text.lower()
    return {i for i, n in enumerate(names) if re.search(rf"\b{n}\b", lowered)}


def _date_problems(key: str, value: object, text: str, today: date) -> list[str]:
    day = _iso(value)
    if day is None:
        return [f"{key} {value!r} is not an ISO date"]
    problems = []
    if key == "dob" and not date(1900, 1, 1) <= day < today:
        problems.append(f"dob {day} out of range")
    if key == "day" and not today <= day <= today + timedelta(days=400):
        problems.append(f"day {day} not within 400 days after reference_now")
    months = _words_named(text, MONTHS) - {MONTHS.index("may")}  # "may" is also a verb
    if months and day.month - 1 not in months:
        problems.append(f"{key} {day} is not in a month the caller named")
    weekdays = _words_named(text, WEEKDAYS)  # (a named month and day win over a weekday)
    if key == "day" and weekdays and not months and day.weekday() not in weekdays:
        problems.append(f"day {day} is not a weekday the caller named")
    return problems


def _spelled_in(name: str, text: str) -> bool:
    """Each part of the name as in the text ("okonkwo, chidi" is labelled Chidi Okonkwo)."""
    return all(_letters(part) in _letters(text) for part in name.split())


def slot_problems(
    slots: object, text: str, intent: str, ids: dict[str, set[str]], today: date | None = None
) -> list[str]:
    if not isinstance(slots, dict) or not slots:
        return ["slots must be a non-empty table (omit it when nothing was said)"]
    today = today or date.fromisoformat(REFERENCE_NOW[:10])
    problems = [f"unknown slot {k!r}" for k in slots if k not in SLOT_KEYS]
    for key, value in slots.items():
        if not isinstance(value, str):
            problems.append(f"slot {key} is not a string")
        elif key == "name" and not (NAME.match(value) and _spelled_in(value, text)):
            problems.append(f"name {value!r} malformed or not spelled as in the text")
        elif key in ("dob", "day"):
            other = "day" if key == "dob" else "dob"
            problems += _date_problems(key, value, "" if other in slots else text, today)
        elif key == "time" and not TIME.match(value):
            problems.append(f"time {value!r} is not HH:MM")
        elif key == "part_of_day" and value not in ("morning", "afternoon", "evening"):
            problems.append(f"part_of_day {value!r} unknown")
        elif key in ids and value not in ids[key]:
            problems.append(f"{key} {value!r} is not an id in the demo clinic")
    if "topic" in slots and intent != "clinic_info":
        problems.append("topic only on clinic_info lines")
    if intent == "clinic_info" and set(slots) != {"topic"}:
        problems.append("clinic_info lines carry a topic only")
    if intent in NO_SLOTS:
        problems.append(f"no slots on {intent} lines")
    return problems


def line_problems(line: object, ids: dict[str, set[str]], today: date | None = None) -> list[str]:
    if not isinstance(line, dict):
        return ["a line must be a table"]
    problems = [f"unknown key {k!r}" for k in line if k not in {"text", "intent", "slots", "note"}]
    text, intent = line.get("text"), line.get("intent")
    if not isinstance(text, str) or not text.strip() or text != text.strip():
        problems.append("text must be a non-empty string without outer spaces")
        text = ""
    if intent not in INTENTS:
        problems.append(f"intent {intent!r} unknown")
    if "note" in line and not (isinstance(line["note"], str) and line["note"].strip()):
        problems.append("note must be a non-empty string")
    if "slots" in line:
        problems += slot_problems(line["slots"], text, str(intent), ids, today)
    return [f"{text[:40]!r}: {p}" for p in problems]


def _expect_problems(expect: object, ids: dict[str, set[str]]) -> list[str]:
    if not isinstance(expect, dict):
        return ["expect must be a table"]
    problems = [f"unknown expect key {k!r}" for k in expect if k not in EXPECT_KEYS]
    outcome = expect.get("outcome")
    if outcome not in OUTCOMES:
        problems.append(f"outcome {outcome!r} unknown")
    if (outcome == "transferred") != ("reason" in expect):
        problems.append("reason goes with transferred, and only with it")
    if "reason" in expect and expect["reason"] not in REASONS:
        problems.append(f"reason {expect['reason']!r} unknown")
    if (outcome == "answered") != ("topic" in expect):
        problems.append("topic goes with answered, and only with it")
    if "appointment_type" in expect and outcome != "booked":
        problems.append("appointment_type only with booked")
    for key in ("appointment_type", "provider", "patient", "topic"):
        if key in expect and expect[key] not in ids[key]:
            problems.append(f"{key} {expect[key]!r} is not an id in the demo clinic")
    if "identity_asked" in expect and not isinstance(expect["identity_asked"], bool):
        problems.append("identity_asked must be true or false")
    return problems


def dialogue_problems(dialogue: object, ids: dict[str, set[str]]) -> list[str]:
    if not isinstance(dialogue, dict):
        return ["a dialogue must be a table"]
    problems = [
        f"unknown key {k!r}" for k in dialogue if k not in {"id", "turns", "expect", "note"}
    ]
    ident, turns = dialogue.get("id"), dialogue.get("turns")
    if not isinstance(ident, str) or not SLUG.match(ident):
        problems.append(f"id {ident!r} is not a slug")
    ok_turns = isinstance(turns, list) and 1 <= len(turns) <= 12
    if not ok_turns or not all(isinstance(t, str) and t.strip() for t in turns or []):
        problems.append("turns must be 1 to 12 non-empty strings")
    problems += _expect_problems(dialogue.get("expect"), ids)
    return [f"{ident}: {p}" for p in problems]


def load(path: Path, table: str) -> list[Any]:
    data = tomllib.loads(path.read_text("utf-8"))
    assert set(data) == {"reference_now", table}, f"{path.name}: top-level keys {set(data)}"
    assert data["reference_now"] == REFERENCE_NOW
    assert datetime.fromisoformat(data["reference_now"]).weekday() == 0  # a Monday
    items = data[table]
    assert isinstance(items, list)
    return items


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


@pytest.mark.parametrize("part", sorted(LINE_FILES))
def test_lines_follow_the_schema(part: str) -> None:
    ids = known_ids()
    problems = [p for line in load(LINE_FILES[part], "line") for p in line_problems(line, ids)]
    assert problems == []


@pytest.mark.parametrize("part", sorted(LATER_FILES))
def test_later_tuning_files_follow_the_schema(part: str) -> None:
    data = tomllib.loads(LATER_FILES[part].read_text("utf-8"))
    assert set(data) == {"reference_now", "line"}
    today = datetime.fromisoformat(data["reference_now"]).date()
    ids = known_ids()
    assert [p for line in data["line"] for p in line_problems(line, ids, today)] == []
    assert {line["intent"] for line in data["line"]} == INTENTS


@pytest.mark.parametrize("part", sorted(DIALOGUE_FILES))
def test_dialogues_follow_the_schema(part: str) -> None:
    ids = known_ids()
    dialogues = load(DIALOGUE_FILES[part], "dialogue")
    assert [p for d in dialogues for p in dialogue_problems(d, ids)] == []


def test_sizes_as_the_issue_asks() -> None:
    lines = {part: load(path, "line") for part, path in LINE_FILES.items()}
    dialogues = {part: load(path, "dialogue") for part, path in DIALOGUE_FILES.items()}
    assert sum(map(len, lines.values())) >= 300
    assert sum(map(len, dialogues.values())) >= 40
    assert len(lines["heldout"]) >= 100
    assert len(dialogues["heldout"]) >= 12
    for part, items in lines.items():  # every intent is measured on both parts
        assert {line["intent"] for line in items} == INTENTS, part


def test_no_line_twice_and_no_dialogue_id_twice() -> None:
    texts = [_normal(x["text"]) for p in LINE_FILES.values() for x in load(p, "line")]
    texts += [
        _normal(x["text"])
        for p in LATER_FILES.values()
        for x in tomllib.loads(p.read_text("utf-8"))["line"]
    ]
    assert sorted(t for t in set(texts) if texts.count(t) > 1) == []
    ids = [d["id"] for p in DIALOGUE_FILES.values() for d in load(p, "dialogue")]
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_every_kb_topic_is_asked_in_both_parts() -> None:
    topics = known_ids()["topic"]
    for path in LINE_FILES.values():
        asked = {x["slots"]["topic"] for x in load(path, "line") if "topic" in x.get("slots", {})}
        assert asked == topics, path.name


BAD_LINES: list[tuple[dict[str, Any], str]] = [
    ({"text": "book me in", "intent": "booking"}, "intent"),
    ({"text": "book me in", "intent": "book", "extra": 1}, "unknown key"),
    ({"text": "thursday please", "intent": "inform", "slots": {"day": "2026-12-11"}}, "weekday"),
    ({"text": "on the 15th", "intent": "inform", "slots": {"day": "2026-13-01"}}, "ISO"),
    ({"text": "john smith", "intent": "inform", "slots": {"name": "Jon Smith"}}, "name"),
    ({"text": "at 2", "intent": "inform", "slots": {"time": "2 PM"}}, "HH:MM"),
    ({"text": "doctor who", "intent": "inform", "slots": {"provider": "who"}}, "id"),
    ({"text": "parking?", "intent": "book", "slots": {"topic": "parking"}}, "clinic_info"),
    ({"text": "may 5 1970", "intent": "inform", "slots": {"dob": "2030-05-05"}}, "range"),
    ({"text": "hi", "intent": "other", "slots": {}}, "non-empty"),
    ({"text": "x", "intent": "inform", "slots": {"mood": "sad"}}, "unknown slot"),
    ({"text": "bye tomorrow", "intent": "goodbye", "slots": {"day": "2026-12-08"}}, "no slots"),
    (
        {"text": "open today?", "intent": "clinic_info", "slots": {"day": "2026-12-07"}},
        "topic only",
    ),
]
BAD_DIALOGUES: list[tuple[dict[str, Any], str]] = [
    ({"id": "Bad Id", "turns": ["hi"], "expect": {"outcome": "ended"}}, "slug"),
    ({"id": "x", "turns": [], "expect": {"outcome": "ended"}}, "turns"),
    ({"id": "x", "turns": ["hi"], "expect": {"outcome": "won"}}, "outcome"),
    ({"id": "x", "turns": ["hi"], "expect": {"outcome": "transferred"}}, "reason"),
    ({"id": "x", "turns": ["hi"], "expect": {"outcome": "answered", "topic": "x"}}, "id"),
    ({"id": "x", "turns": ["hi"], "expect": {"outcome": "ended", "patient": "p9"}}, "id"),
    (
        {
            "id": "x",
            "turns": ["a"],
            "expect": {"outcome": "cancelled", "appointment_type": "checkup"},
        },
        "booked",
    ),
]


@pytest.mark.parametrize(("line", "word"), BAD_LINES)
def test_the_line_checks_catch_a_bad_line(line: dict[str, Any], word: str) -> None:
    problems = line_problems(line, known_ids())
    assert any(word in p for p in problems), problems


@pytest.mark.parametrize(("dialogue", "word"), BAD_DIALOGUES)
def test_the_dialogue_checks_catch_a_bad_dialogue(dialogue: dict[str, Any], word: str) -> None:
    problems = dialogue_problems(dialogue, known_ids())
    assert any(word in p for p in problems), problems

"""Scenario files: YAML, validated into dataclasses; a bad file is a coded error that
names the file and, where the YAML parser knows it, the line.

    use_case: scheduling            # the default for every scenario below
    scenarios:
      - id: book-checkup
        use_case: scheduling        # optional: overrides the file's
        persona: {length_scale: 1.1, noise_db: -40, hesitations: true}
        turns:
          - say: "Hi, I'd like to book a checkup."
          - dtmf: "1"
        expect:
          intent: book
          store: {action: booked, patient: synthetic-03}
          transfer: {reason: caller-request}   # {} : any reason
          says: ["date of birth"]              # loosely, on Whisper's transcript
          never_says: ["card number"]
          reply_gap_p90_s: 6.0
          tolerate: [filler-count]             # an evaluator's fail shown, not failing

A turn is one caller line (`say`) or keypad digits (`dtmf`); after each, the caller waits
for the agent's reply. The caller's lines are synthetic (scripted here); the patients
are the demo clinic's synthetic ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from appliance.errors import SimulationError
from appliance.quality.evaluators import DEFAULT_EVALUATORS

ACTIONS = {"booked": "book", "moved": "reschedule", "cancelled": "cancel"}  # -> event code
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_DTMF = re.compile(r"[0-9*#]{1,20}")


@dataclass(frozen=True, slots=True)
class Persona:
    length_scale: float = 1.0  # Piper's pace: above 1 slower, below 1 faster
    noise_db: float | None = None  # white noise under the caller's voice (dBFS), None: none
    hesitations: bool = False  # an "um," before each line


@dataclass(frozen=True, slots=True)
class Turn:
    say: str | None = None
    dtmf: str | None = None


@dataclass(frozen=True, slots=True)
class StoreAction:
    action: str  # booked | moved | cancelled
    patient: str | None = None  # the synthetic patient's id


@dataclass(frozen=True, slots=True)
class Expect:
    intent: str | None = None
    store: StoreAction | None = None
    transfer: bool = False
    transfer_reason: str | None = None  # None with transfer: any reason
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = ()
    reply_gap_p90_s: float | None = None
    tolerate: tuple[str, ...] = ()  # evaluators whose fail is reported, not a failure


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    use_case: str
    turns: tuple[Turn, ...]
    expect: Expect
    persona: Persona = field(default_factory=Persona)
    source: str = ""  # the file's name (reports)

    @property
    def lines(self) -> tuple[str, ...]:
        """What the caller is scripted to do, one entry a turn (the report shows these)."""
        return tuple(t.say if t.say is not None else f"[keys {t.dtmf}]" for t in self.turns)


class _Map(dict[str, Any]):
    line = 0


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """Keeps each mapping's line (1-based) so that errors can point at it."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    out = _Map(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _fail(code: str, where: str, message: str) -> SimulationError:
    return SimulationError(code, f"{where}: {message}")


def _at(path: Path, raw: Any) -> str:
    line = getattr(raw, "line", 0)
    return f"{path.name}:{line}" if line else path.name


def _fields(path: Path, raw: Any, allowed: set[str], required: set[str], what: str) -> _Map:
    if not isinstance(raw, dict):
        raise _fail("scenario-type", _at(path, raw), f"{what} must be a mapping")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail("scenario-field-unknown", _at(path, raw), f"{what}: unknown {unknown}")
    missing = sorted(required - set(raw))
    if missing:
        raise _fail("scenario-field-missing", _at(path, raw), f"{what}: missing {missing}")
    return raw if isinstance(raw, _Map) else _Map(raw)


def _typed(path: Path, raw: _Map, key: str, kind: type | tuple[type, ...]) -> Any:
    value = raw.get(key)
    wrong = not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
    if value is not None and wrong:
        raise _fail("scenario-type", _at(path, raw), f"{key!r} has the wrong type")
    return value


def _strings(path: Path, raw: _Map, key: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail("scenario-type", _at(path, raw), f"{key!r} must be a list of phrases")
    return tuple(value)


def _persona(path: Path, raw: Any) -> Persona:
    if raw is None:
        return Persona()
    m = _fields(path, raw, {"voice", "length_scale", "noise_db", "hesitations"}, set(), "persona")
    scale = _typed(path, m, "length_scale", (int, float))
    noise = _typed(path, m, "noise_db", (int, float))
    if scale is not None and not 0.5 <= scale <= 2.0:
        raise _fail("scenario-value", _at(path, m), "length_scale must be within 0.5..2.0")
    if noise is not None and not -80 <= noise <= -10:
        raise _fail("scenario-value", _at(path, m), "noise_db must be within -80..-10 dBFS")
    return Persona(
        float(scale or 1.0),
        None if noise is None else float(noise),
        bool(_typed(path, m, "hesitations", bool)),
    )


def _turn(path: Path, raw: Any) -> Turn:
    m = _fields(path, raw, {"say", "dtmf"}, set(), "turn")
    say, dtmf = _typed(path, m, "say", str), _typed(path, m, "dtmf", (str, int))
    if (say is None) == (dtmf is None):
        raise _fail("scenario-turn", _at(path, m), "a turn has one of 'say' or 'dtmf'")
    if dtmf is not None and not _DTMF.fullmatch(str(dtmf)):
        raise _fail("scenario-value", _at(path, m), "dtmf must be digits, * or #")
    if say is not None and not say.strip():
        raise _fail("scenario-value", _at(path, m), "an empty line to say")
    return Turn(say, None if dtmf is None else str(dtmf))


def _expect(path: Path, raw: Any) -> Expect:
    keys = {"intent", "store", "transfer", "says", "never_says", "reply_gap_p90_s", "tolerate"}
    m = _fields(path, raw, keys, set(), "expect")
    store = None
    if m.get("store") is not None:
        s = _fields(path, m["store"], {"action", "patient"}, {"action"}, "store")
        if s["action"] not in ACTIONS:
            raise _fail("scenario-value", _at(path, s), f"action is one of {sorted(ACTIONS)}")
        store = StoreAction(s["action"], _typed(path, s, "patient", str))
    reason = None
    if m.get("transfer") is not None:
        t = _fields(path, m["transfer"], {"reason"}, set(), "transfer")
        reason = _typed(path, t, "reason", str)
    tolerate = _strings(path, m, "tolerate")
    names = {e.name for e in DEFAULT_EVALUATORS}
    if set(tolerate) - names:
        raise _fail("scenario-value", _at(path, m), f"tolerate names one of {sorted(names)}")
    gap = _typed(path, m, "reply_gap_p90_s", (int, float))
    if gap is not None and gap <= 0:
        raise _fail("scenario-value", _at(path, m), "reply_gap_p90_s must be above 0")
    return Expect(
        _typed(path, m, "intent", str), store, m.get("transfer") is not None, reason,
        _strings(path, m, "says"), _strings(path, m, "never_says"),
        None if gap is None else float(gap), tolerate,
    )  # fmt: skip


def _scenario(path: Path, raw: Any, use_case: str | None) -> Scenario:
    keys = {"id", "use_case", "persona", "turns", "expect", "note"}
    m = _fields(path, raw, keys, {"id", "turns", "expect"}, "scenario")
    sid = _typed(path, m, "id", str)
    if not _ID.fullmatch(sid or ""):
        raise _fail("scenario-value", _at(path, m), "id: lower-case letters, digits, '-'")
    case = _typed(path, m, "use_case", str) or use_case
    if not case:
        raise _fail("scenario-field-missing", _at(path, m), f"{sid}: no use_case")
    turns = m["turns"]
    if not isinstance(turns, list) or not turns:
        raise _fail("scenario-type", _at(path, m), f"{sid}: turns must be a non-empty list")
    return Scenario(
        sid, case, tuple(_turn(path, t) for t in turns), _expect(path, m["expect"]),
        _persona(path, m.get("persona")), path.name,
    )  # fmt: skip


def load_file(path: Path) -> tuple[Scenario, ...]:
    """The scenarios of one YAML file. Raises SimulationError scenario-*."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail("scenario-file-unreadable", path.name, type(exc).__name__) from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark is not None else path.name
        raise _fail("scenario-yaml", where, "not valid YAML") from None
    top = _fields(path, data, {"use_case", "scenarios"}, {"scenarios"}, "file")
    items = top["scenarios"]
    if not isinstance(items, list) or not items:
        raise _fail("scenario-type", _at(path, top), "scenarios must be a non-empty list")
    default = _typed(path, top, "use_case", str)
    return tuple(_scenario(path, raw, default) for raw in items)


def load(paths: list[Path]) -> tuple[Scenario, ...]:
    """Every scenario of `paths` (files, or folders of *.yaml); ids must be unique."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    if not files:
        raise SimulationError("scenario-none", "no scenario files given")
    found: list[Scenario] = []
    for f in files:
        found.extend(load_file(f))
    seen: set[str] = set()
    for s in found:
        if s.id in seen:
            raise _fail("scenario-duplicate-id", s.source, f"id {s.id!r} is used twice")
        seen.add(s.id)
    return tuple(found)

"""Simulation before go-live: a use case's labelled dialogues run through the real workflow
engine on a scratch copy of the demo clinic store (`appliance simulate`), tallied per use
case, and the evidence a promotion out of draft needs.

The dialogues ship with the package (appliance/demo/clinic/simulation.toml: the tuned
dialogues of tests/assets/understanding/, each labelled with its use case). Each one ends
in one of: reached (every expected field of its outcome matched), escalated (it did not,
and the caller was handed to a human or the payment pause), failed (neither, or a stage
raised a coded error). A simulation passes when at least one dialogue ran and the share
that reached its outcome is at least `[governance] simulation_pass_min` (0.90).

The report holds counts, ids and codes only (never the callers' words); its canonical
JSON is the evidence and its sha256 goes to the audit chain (`usecase.simulation`,
outcome ok or failed, reason code the sha256). A use case moves from draft to simulated
only while its newest simulation since it entered draft passed
(appliance/governance/promotion.py); the sign-off then records the simulation's sha256.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from appliance.errors import GovernanceError
from appliance.governance.use_cases import Signer
from appliance.store.audit import AuditEvent, append_audit, utc_iso
from appliance.store.db import Connection, Database

DIALOGUES = Path(__file__).resolve().parents[1] / "demo" / "clinic" / "simulation.toml"
TIMEZONE = "America/New_York"  # the demo clinic's, which the reference time is in
SAFETY = "safety"  # dialogues of no use case (emergencies, a person, goodbye): not tallied
ESCALATED = frozenset({"transferred", "payment"})
ACTION = "usecase.simulation"


@dataclass(frozen=True, slots=True)
class Dialogue:
    id: str
    use_case: str
    turns: tuple[str, ...]  # the caller's words (never in a report)
    expect: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DialogueSet:
    reference_now: str  # ISO local time the demo schedule is seeded at
    dialogues: tuple[Dialogue, ...]

    def of(self, use_case: str) -> tuple[Dialogue, ...]:
        return tuple(d for d in self.dialogues if d.use_case == use_case)


def load_dialogues(path: Path = DIALOGUES) -> DialogueSet:
    """The labelled dialogues; a dialogue without a use case label is refused."""
    data = tomllib.loads(path.read_text("utf-8"))
    found = []
    for raw in data.get("dialogue", []):
        if not raw.get("use_case"):
            raise GovernanceError("simulation-unlabelled", f"dialogue {raw.get('id')!r}")
        found.append(
            Dialogue(str(raw["id"]), str(raw["use_case"]), tuple(raw["turns"]), raw["expect"])
        )
    return DialogueSet(str(data.get("reference_now", "2026-12-07T09:00:00")), tuple(found))


@dataclass(frozen=True, slots=True)
class Result:
    """One dialogue's end: its id, outcome code and the expected fields it missed."""

    id: str
    verdict: str  # reached | escalated | failed
    outcome: str  # the outcome code (booked, transferred, ...) or the error's code
    missed: tuple[str, ...] = ()


def judge(dialogue: Dialogue, outcome: dict[str, Any]) -> Result:
    """Compare a run's outcome fields (outcome, reason, topic, ...) with the expected."""
    missed = tuple(k for k, v in dialogue.expect.items() if outcome.get(k) != v)
    code = str(outcome.get("outcome", "none"))
    if not missed:
        return Result(dialogue.id, "reached", code)
    verdict = "escalated" if code in ESCALATED else "failed"
    return Result(dialogue.id, verdict, code, missed)


@dataclass(frozen=True, slots=True)
class Report:
    use_case: str
    threshold: float
    dialogue_file_sha256: str
    results: tuple[Result, ...] = field(default_factory=tuple)

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    @property
    def rate(self) -> float | None:
        return self.count("reached") / len(self.results) if self.results else None

    @property
    def passed(self) -> bool:
        return self.rate is not None and self.rate >= self.threshold

    def evidence(self) -> str:
        """Canonical JSON: counts, ids and codes (no caller words)."""
        body = {
            "use_case": self.use_case, "threshold": self.threshold, "passed": self.passed,
            "dialogues": self.dialogue_file_sha256, "run": len(self.results),
            "reached": self.count("reached"), "escalated": self.count("escalated"),
            "failed": self.count("failed"), "rate": self.rate,
            "results": [asdict(r) for r in self.results],
        }  # fmt: skip
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.evidence().encode()).hexdigest()

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = json.loads(self.evidence())
        body["sha256"] = self.sha256()
        return body


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Evidence(Protocol):
    """A simulation's result: the in-process dialogues' Report, or a suite of scenarios
    over real SIP (appliance/simulate/judge.py SuiteResult); either one gates draft."""

    @property
    def use_case(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    def sha256(self) -> str: ...


def record(db: Database, report: Evidence, actor: str, at: float) -> None:
    """Put the simulation's outcome and sha256 in the audit chain."""
    signer = Signer.of(db)

    def write(conn: Connection) -> None:
        if conn.execute("SELECT 1 FROM use_cases WHERE id = ?", (report.use_case,)).fetchone():
            event = AuditEvent(
                actor=actor, actor_role="operator", action=ACTION,
                outcome="ok" if report.passed else "failed", object_type="use_case",
                object_id=report.use_case, reason_code=report.sha256(),
                component="governance", at=at,
            )  # fmt: skip
            append_audit(conn, event, signer.key, signer.every)
            return
        raise GovernanceError("usecase-unknown", f"no use case {report.use_case!r}")

    db.execute(write)


def passed_in(conn: Connection, use_case: str) -> str:
    """The sha256 of the newest simulation of `use_case` since it entered its state, if
    it passed; else GovernanceError `usecase-simulation-missing` / `-failed`."""
    row = conn.execute("SELECT changed_at FROM use_cases WHERE id = ?", (use_case,)).fetchone()
    since = utc_iso(float(row[0])) if row else ""
    newest = conn.execute(
        "SELECT outcome, reason_code FROM audit WHERE action = ? AND object_id = ? AND at >= ?"
        " ORDER BY seq DESC LIMIT 1",
        (ACTION, use_case, since),
    ).fetchone()
    if newest is None:
        raise GovernanceError("usecase-simulation-missing", "run `appliance simulate` first")
    if newest[0] != "ok":
        raise GovernanceError("usecase-simulation-failed", "the newest simulation failed")
    return str(newest[1])

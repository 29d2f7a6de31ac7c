"""Judging a simulated call: the live calls' deterministic evaluators on what the store
recorded of it, and the scenario's expectations; pass^k over a scenario's runs.

What a run keeps is codes, ids and figures, and the scenario's own phrases: never what
Whisper heard of the agent (it can name a synthetic patient's appointment)."""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass

from appliance.quality.evaluators import DEFAULT_EVALUATORS
from appliance.quality.facts import CallFacts, load_facts
from appliance.quality.result import FAIL
from appliance.simulate.scenario import ACTIONS, Scenario
from appliance.store.db import Connection, Database

LOOSE = 0.8  # a phrase is said when a stretch of the transcript is this alike


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a scenario: its verdict, what failed (plain words), its figures."""

    scenario: str
    index: int
    call_id: str | None
    failures: tuple[str, ...]
    reply_gaps_s: tuple[float, ...]
    evaluators: dict[str, str]  # evaluator name -> verdict

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def gap_p90_s(self) -> float | None:
        return p90(self.reply_gaps_s)


def p90(values: tuple[float, ...]) -> float | None:
    """The 90th percentile (nearest rank)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def said(phrase: str, transcript: str) -> bool:
    """`phrase` is in `transcript`, loosely (Whisper's spelling, a word misheard)."""
    want, heard = _words(phrase), _words(transcript)
    if not want:
        return True
    if " ".join(want) in " ".join(heard):
        return True
    n = len(want)
    return any(
        difflib.SequenceMatcher(None, " ".join(want), " ".join(heard[i : i + n])).ratio() >= LOOSE
        for i in range(max(1, len(heard) - n + 1))
    )


def _patient_of(conn: Connection, appointment: str) -> str | None:
    row = conn.execute("SELECT patient_id FROM appointments WHERE id = ?", (appointment,))
    found = row.fetchone()
    return None if found is None else str(found[0])


def _store(db: Database, scenario: Scenario, facts: CallFacts) -> list[str]:
    want = scenario.expect.store
    if want is None:
        return []
    code = ACTIONS[want.action]
    refs = [e.code.split(":", 1)[1] for e in facts.of("appointment") if e.code and
            e.code.startswith(f"{code}:")]  # fmt: skip
    if not refs:
        return [f"no appointment was {want.action} in the store"]
    if want.patient and all(db.query(_patient_of, r) != want.patient for r in refs):
        return [f"the appointment {want.action} was not the patient {want.patient}'s"]
    return []


def _events(scenario: Scenario, facts: CallFacts) -> list[str]:
    e, out = scenario.expect, []
    intents = {ev.code for ev in facts.of("intent")}
    if e.intent and e.intent not in intents:
        out.append(f"the agent did not recognise the request as {e.intent!r}")
    reasons = {ev.code for ev in facts.of("transfer-requested")}
    if e.transfer and not reasons:
        out.append("the call was not transferred to a person")
    elif e.transfer_reason and e.transfer_reason not in reasons:
        out.append(f"the transfer's reason was not {e.transfer_reason!r}")
    return out


def _speech(scenario: Scenario, transcript: str, gaps: tuple[float, ...]) -> list[str]:
    e, out = scenario.expect, []
    out += [f"the agent did not say {p!r}" for p in e.says if not said(p, transcript)]
    heard = " ".join(_words(transcript))
    out += [f"the agent said {p!r}" for p in e.never_says if " ".join(_words(p)) in heard]
    gap = p90(gaps)
    if e.reply_gap_p90_s is not None and (gap is None or gap > e.reply_gap_p90_s):
        shown = "no reply" if gap is None else f"{gap:.1f} s"
        out.append(f"reply gap p90 {shown} is over the {e.reply_gap_p90_s:.1f} s budget")
    return out


def judge_run(
    db: Database, scenario: Scenario, index: int, call_id: str | None,
    transcript: str, gaps: tuple[float, ...],
) -> Run:  # fmt: skip
    """Judge one run from the store's record of its call and what the caller heard."""
    facts = None if call_id is None else db.query(load_facts, call_id)
    if facts is None:
        failures = ["the appliance recorded no call for this run"]
        return Run(scenario.id, index, call_id, tuple(failures), gaps, {})
    verdicts = {ev.name: ev.evaluate(facts) for ev in DEFAULT_EVALUATORS}
    failures = [f"quality check {n!r} failed ({r.reason})" for n, r in verdicts.items()
                if r.verdict == FAIL and n not in scenario.expect.tolerate]  # fmt: skip
    failures += _events(scenario, facts) + _store(db, scenario, facts)
    failures += _speech(scenario, transcript, gaps)
    shown = {n: r.verdict for n, r in verdicts.items()}
    return Run(scenario.id, index, call_id, tuple(failures), gaps, shown)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A scenario's k runs: pass^k holds when every run passed."""

    scenario: Scenario
    runs: tuple[Run, ...]

    @property
    def passed(self) -> bool:
        return bool(self.runs) and all(r.passed for r in self.runs)

    @property
    def passes(self) -> int:
        return sum(1 for r in self.runs if r.passed)

    @property
    def gaps(self) -> tuple[float, ...]:
        return tuple(g for r in self.runs for g in r.reply_gaps_s)


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """One use case's scenarios over SIP: the evidence a promotion out of draft needs."""

    use_case: str
    runs_per_scenario: int
    files_sha256: str
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    def evidence(self) -> str:
        """Canonical JSON: ids, codes, figures (no words heard)."""
        body = {
            "kind": "sip", "use_case": self.use_case, "passed": self.passed,
            "k": self.runs_per_scenario, "scenarios_sha256": self.files_sha256,
            "scenarios": [
                {"id": o.scenario.id, "pass_k": o.passed, "passes": o.passes,
                 "runs": [asdict(r) for r in o.runs]}
                for o in self.outcomes
            ],
        }  # fmt: skip
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.evidence().encode()).hexdigest()

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = json.loads(self.evidence())
        body["sha256"] = self.sha256()
        return body

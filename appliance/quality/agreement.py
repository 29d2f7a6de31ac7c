"""The judge's agreement with a labelled set of synthetic calls, per criterion.

The set (tests/assets/quality/judge_set.toml) gives each call's turns and a label per
criterion: "goal" (judge-goal-met), "start" and "end" (the sentiment criteria), each
pass / fail / unsure. Agreement is the share of calls where the judge's verdict equals
the label; a criterion under `ADVISORY_BELOW` is advisory (appliance/quality/judge.py
ADVISORY): it is reported but never feeds a phase gate.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError
from appliance.quality.judge import GOAL, SENTIMENT_END, SENTIMENT_START, JudgeModel, Line, judge

ADVISORY_BELOW = 0.80
LABEL_KEYS = {GOAL: "goal", SENTIMENT_START: "start", SENTIMENT_END: "end"}


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    lines: tuple[Line, ...]
    labels: dict[str, str]  # criterion -> pass | fail | unsure


def load_set(path: Path) -> list[Labelled]:
    data = tomllib.loads(path.read_text("utf-8"))
    out: list[Labelled] = []
    for call in data["call"]:
        lines = tuple(Line(i, str(s), str(t)) for i, (s, t) in enumerate(call["turns"]))
        labels = {c: str(call[k]) for c, k in LABEL_KEYS.items()}
        out.append(Labelled(str(call["id"]), lines, labels))
    return out


def measure(
    model: JudgeModel,
    records: Sequence[Labelled],
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Agreement per criterion (share, n, confusion label->verdict), the misses' ids and
    the criteria that are advisory (agreement under ADVISORY_BELOW)."""
    confusion: dict[str, Counter[str]] = {c: Counter() for c in LABEL_KEYS}
    misses: dict[str, list[str]] = {c: [] for c in LABEL_KEYS}
    errors: list[str] = []
    for i, record in enumerate(records):
        try:
            got = judge(model, record.lines)
        except ApplianceError as exc:
            errors.append(f"{record.id}:{exc.code}")
            got = {}
        for criterion, label in record.labels.items():
            verdict = got[criterion].verdict if criterion in got else "error"
            confusion[criterion][f"{label}->{verdict}"] += 1
            if verdict != label:
                misses[criterion].append(record.id)
        if progress is not None:
            progress(i + 1)
    n = len(records)
    share = {c: round((n - len(misses[c])) / n, 4) if n else 0.0 for c in LABEL_KEYS}
    criteria = {
        c: {
            "n": n,
            "agreement": share[c],
            "confusion": dict(sorted(confusion[c].items())),
            "misses": misses[c],
        }
        for c in LABEL_KEYS
    }
    advisory = sorted(c for c in LABEL_KEYS if share[c] < ADVISORY_BELOW)
    return {"criteria": criteria, "advisory": advisory, "errors": errors}

"""Word error rate and entity error rate of transcripts against references, with jiwer.

`score_line(reference, hypothesis)` compares the normalised words (appliance/quality/
wer_text.py) with jiwer's alignment: word errors are substitutions + deletions +
insertions; an entity of the reference (a name, a date, a number: wer_text.entity_spans)
is an error when any of its words is not matched exactly or a word was inserted inside it.
`summarise(lines)` pools them: WER = errors / reference words, the entity error rate =
entity errors / entities, and a 95 % confidence interval of the WER by a bootstrap over
lines (words of one line are not independent: the line is the unit resampled), seeded,
so the same lines give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import jiwer
import numpy as np

from appliance.quality.wer_text import entity_spans, normalise

BOOTSTRAP_REPS = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class LineScore:
    """One transcript against its reference: counts only, no words."""

    ref_words: int
    substitutions: int
    deletions: int
    insertions: int
    entities: int
    entity_errors: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


@dataclass(frozen=True, slots=True)
class WerSummary:
    """Lines pooled; rates are None without reference words (entities)."""

    samples: int
    ref_words: int
    errors: int
    entities: int
    entity_errors: int
    wer: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def entity_error_rate(self) -> float | None:
        return self.entity_errors / self.entities if self.entities else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "entity_error_rate": self.entity_error_rate}


def score_line(reference: str, hypothesis: str, names: frozenset[str] = frozenset()) -> LineScore:
    """`hypothesis` (what the STT heard) against `reference` (what was said)."""
    ref, spans = entity_spans(reference, names)
    hyp = normalise(hypothesis)
    if not ref:
        return LineScore(0, 0, 0, len(hyp), 0, 0)
    if not hyp:
        return LineScore(len(ref), 0, len(ref), 0, len(spans), len(spans))
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    matched: set[int] = set()
    inserted_at: set[int] = set()
    for chunk in out.alignments[0]:
        if chunk.type == "equal":
            matched.update(range(chunk.ref_start_idx, chunk.ref_end_idx))
        elif chunk.type == "insert":
            inserted_at.add(chunk.ref_start_idx)
    missed = sum(
        1
        for start, end in spans
        if not matched.issuperset(range(start, end)) or inserted_at & set(range(start + 1, end))
    )
    return LineScore(len(ref), out.substitutions, out.deletions, out.insertions, len(spans), missed)


def summarise(lines: Sequence[LineScore], reps: int = BOOTSTRAP_REPS, seed: int = 0) -> WerSummary:
    """The pooled rates of `lines` and the bootstrap interval of the WER."""
    ref_words = sum(line.ref_words for line in lines)
    errors = sum(line.errors for line in lines)
    entities = sum(line.entities for line in lines)
    entity_errors = sum(line.entity_errors for line in lines)
    wer = errors / ref_words if ref_words else None
    low, high = bootstrap_interval(lines, reps, seed) if wer is not None else (None, None)
    return WerSummary(
        samples=len(lines),
        ref_words=ref_words,
        errors=errors,
        entities=entities,
        entity_errors=entity_errors,
        wer=wer,
        ci_low=low,
        ci_high=high,
    )


def bootstrap_interval(
    lines: Sequence[LineScore], reps: int = BOOTSTRAP_REPS, seed: int = 0
) -> tuple[float | None, float | None]:
    """The CONFIDENCE percentile interval of pooled WER, lines resampled with replacement;
    (None, None) for fewer than 2 lines."""
    if len(lines) < 2:
        return None, None
    errors = np.array([line.errors for line in lines], dtype=np.float64)
    words = np.array([line.ref_words for line in lines], dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(lines), size=(reps, len(lines)))
    totals = words[picks].sum(axis=1)
    rates = errors[picks].sum(axis=1) / np.where(totals > 0, totals, np.nan)
    rates = rates[~np.isnan(rates)]
    if rates.size == 0:
        return None, None
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(rates, [tail, 100 - tail])
    return float(low), float(high)

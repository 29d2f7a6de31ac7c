"""Cut streamed LLM text into speakable pieces as early as possible."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_CLAUSE_END = re.compile(r"(?<=,)\s+")
_MARKUP = re.compile(r"[*_#`>\[\]]+")

MIN_CLAUSE_CHARS = 60  # cut at a comma only once this much text is waiting


def split_ready(buffer: str) -> tuple[list[str], str]:
    """Return the complete sentences (or long clauses) in `buffer` and the remainder."""
    parts = _SENTENCE_END.split(buffer)
    ready, rest = parts[:-1], parts[-1]
    if len(rest) >= MIN_CLAUSE_CHARS:
        clauses = _CLAUSE_END.split(rest)
        if len(clauses) > 1:
            ready.append(" ".join(clauses[:-1]))
            rest = clauses[-1]
    return [clean(s) for s in ready if clean(s)], rest


def clean(text: str) -> str:
    """Strip markdown and whitespace that a small model may emit."""
    return " ".join(_MARKUP.sub("", text).split())

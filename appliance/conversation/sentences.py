"""Cut streamed LLM text into speakable pieces as early as possible."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_CLAUSE_END = re.compile(r"(?<=,)\s+")
_MARKUP = re.compile(r"[*_#`>\[\]]+")

MIN_CLAUSE_CHARS = 60  # cut at a comma only once this much text is waiting
MIN_FIRST_CLAUSE_CHARS = 8  # ... the reply's first piece sooner ("I'm sorry,"; not "Sure,")


def split_ready(buffer: str, min_clause: int = MIN_CLAUSE_CHARS) -> tuple[list[str], str]:
    """Return the complete sentences, or a clause ending in a comma once it is at least
    `min_clause` chars long (never a stub like "Sure,"), and the remainder."""
    parts = _SENTENCE_END.split(buffer)
    ready, rest = parts[:-1], parts[-1]
    clauses = _CLAUSE_END.split(rest)
    if len(clauses) > 1 and len(head := " ".join(clauses[:-1])) >= min_clause:
        ready.append(head)
        rest = clauses[-1]
    return [clean(s) for s in ready if clean(s)], rest


def clean(text: str) -> str:
    """Strip markdown and whitespace that a small model may emit."""
    return " ".join(_MARKUP.sub("", text).split())

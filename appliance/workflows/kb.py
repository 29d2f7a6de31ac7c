"""The clinic's knowledge base: vetted answers to common questions, from a TOML file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec

from appliance.errors import ConfigError


class Topic(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    keywords: list[str]
    answer: str


class KnowledgeBase(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    topic: list[Topic]

    def match(self, words: str) -> Topic | None:
        """The topic whose keywords cover most of `words` (lower case), or None: a longer
        keyword is more specific ("christmas" over "open"); a tie goes to the topic
        listed first."""
        return self.scored(words)[0]

    def scored(self, words: str) -> tuple[Topic | None, int]:
        """The best topic for `words` and its score (letters of its keywords heard)."""
        best, score = None, 0
        for t in self.topic:
            hits = sum(len(k) for k in t.keywords if re.search(_word(k), words))
            if hits > score:
                best, score = t, hits
        return best, score

    def answer(self, question: str, topic_hint: str | None = None) -> str | None:
        """The vetted answer whose keywords best match, or None."""
        by_id = next((t for t in self.topic if t.id == topic_hint), None)
        best = by_id or self.match(f"{topic_hint or ''} {question}".lower())
        return best.answer if best else None


def _word(keyword: str) -> str:
    """`keyword` as a whole word or phrase, plural allowed ("park" is not "parking")."""
    return rf"\b{re.escape(keyword.lower())}(?:s|es)?\b"


def load_kb(path: Path) -> KnowledgeBase:
    try:
        return msgspec.convert(tomllib.loads(path.read_text("utf-8")), type=KnowledgeBase)
    except FileNotFoundError as exc:
        raise ConfigError("kb-missing", f"knowledge base not found: {path}") from exc
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ConfigError("kb-invalid", f"{path.name}: {exc}") from exc

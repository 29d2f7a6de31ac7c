"""Knowledge-base versions in the console: propose an answer, approve or reject it.

An edit is a new pending version of a topic; it reaches callers only when a second
person approves it (four-eyes: the approver may not be the proposer, checked here and by
the table itself). Every proposal, approval, rejection and refused approval is an audit
record naming the user, with the topic id and version (never the answer's text in the
log; the text is kept in the versions table).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from appliance.console.accounts import Actor, Clock, audit
from appliance.errors import ConsoleError
from appliance.store.db import Connection, Database
from appliance.workflows.kb import KnowledgeBase
from appliance.workflows.kb_versions import approved_topics, with_approved

_TOPIC = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
ANSWER_MAX = 1000  # characters: an answer is read aloud
KEYWORDS_MAX = 30
_SELECT = (  # constant text: the values are always bound parameters
    "SELECT id, topic_id, version, keywords, answer, status, proposed_by, proposed_at,"
    " decided_by, decided_at FROM kb_versions"
)


@dataclass(frozen=True, slots=True)
class Version:
    id: int
    topic_id: str
    version: int
    keywords: tuple[str, ...]
    answer: str
    status: str  # pending | approved | rejected
    proposed_by: str
    proposed_at: float
    decided_by: str | None
    decided_at: float | None


def _version(row: tuple[object, ...]) -> Version:
    keywords = json.loads(str(row[3]))
    return Version(
        int(str(row[0])),
        str(row[1]),
        int(str(row[2])),
        tuple(str(k) for k in keywords),
        str(row[4]),
        str(row[5]),
        str(row[6]),
        float(str(row[7])),
        None if row[8] is None else str(row[8]),
        None if row[9] is None else float(str(row[9])),
    )


def check_edit(topic_id: str, keywords: str, answer: str) -> tuple[str, list[str], str]:
    """The cleaned edit; raises ConsoleError kb-bad-topic, kb-bad-keywords, kb-bad-answer."""
    topic = topic_id.strip().lower()
    if not _TOPIC.match(topic):
        raise ConsoleError(
            "kb-bad-topic", "a topic id is 1-40 of a-z 0-9 - and starts with a letter"
        )
    words = [w.strip().lower() for w in keywords.split(",") if w.strip()]
    if not words or len(words) > KEYWORDS_MAX or any(len(w) > 60 for w in words):
        raise ConsoleError("kb-bad-keywords", f"give 1-{KEYWORDS_MAX} keywords, comma separated")
    text = " ".join(answer.split())
    if not text or len(text) > ANSWER_MAX:
        raise ConsoleError("kb-bad-answer", f"an answer is 1-{ANSWER_MAX} characters")
    return topic, words, text


class KbVersions:
    """Blocking operations on the store (the routes run them in a thread)."""

    def __init__(self, db: Database, clock: Clock, base: KnowledgeBase | None = None) -> None:
        """`base`: the KB file's topics (shown as the starting point; None: store only)."""
        self.db, self.clock = db, clock
        self.base = base or KnowledgeBase([])

    def live(self) -> KnowledgeBase:
        """What callers hear: the file's topics with the approved versions."""
        return with_approved(self.base, self.db.query(approved_topics))

    def versions(self) -> list[Version]:
        rows = self.db.query(lambda c: c.execute(_SELECT + " ORDER BY id DESC").fetchall())
        return [_version(r) for r in rows]

    def propose(self, topic_id: str, keywords: str, answer: str, by: Actor) -> Version:
        """A new pending version. Raises ConsoleError kb-bad-topic, kb-bad-keywords,
        kb-bad-answer."""
        topic, words, text = check_edit(topic_id, keywords, answer)
        return self.db.execute(self._propose, topic, words, text, by)

    def _propose(
        self, conn: Connection, topic: str, words: list[str], text: str, by: Actor
    ) -> Version:
        now = self.clock()
        version = int(
            conn.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM kb_versions WHERE topic_id = ?",
                (topic,),
            ).fetchone()[0]
        )
        cur = conn.execute(
            "INSERT INTO kb_versions (topic_id, version, keywords, answer, proposed_by,"
            " proposed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (topic, version, json.dumps(words), text, by.name, now),
        )
        _audit(self.db, conn, by, "kb.propose", topic, version, now)
        return _get(conn, int(cur.lastrowid or 0))

    def decide(self, version_id: int, approve: bool, by: Actor) -> Version:
        """Approve (it goes live) or reject a pending version. Raises ConsoleError
        kb-no-version, kb-decided, kb-own-change (the proposer may not approve: four-eyes;
        the refusal is audited)."""
        found = self.db.execute(self._decide, version_id, approve, by)
        if isinstance(found, ConsoleError):
            raise found
        return found

    def _decide(
        self, conn: Connection, version_id: int, approve: bool, by: Actor
    ) -> Version | ConsoleError:
        now = self.clock()
        row = conn.execute(_SELECT + " WHERE id = ?", (version_id,))
        found = row.fetchone()
        if found is None:
            return ConsoleError("kb-no-version", "no such knowledge-base version")
        v = _version(found)
        action = "kb.approve" if approve else "kb.reject"
        if v.status != "pending":
            return ConsoleError("kb-decided", "this version has been decided already")
        if approve and v.proposed_by == by.name:
            _audit(self.db, conn, by, action, v.topic_id, v.version, now, "own-change")
            return ConsoleError(
                "kb-own-change", "a change needs a second person: you proposed this one"
            )
        conn.execute(
            "UPDATE kb_versions SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?",
            ("approved" if approve else "rejected", by.name, now, v.id),
        )
        _audit(self.db, conn, by, action, v.topic_id, v.version, now)
        return _get(conn, v.id)


def _get(conn: Connection, version_id: int) -> Version:
    row = conn.execute(_SELECT + " WHERE id = ?", (version_id,))
    return _version(row.fetchone())


def _audit(
    db: Database,
    conn: Connection,
    by: Actor,
    action: str,
    topic: str,
    version: int,
    now: float,
    refused: str | None = None,
) -> None:
    audit(
        db,
        conn,
        by,
        action,
        outcome="denied" if refused else "ok",
        reason_code=refused,
        object_type="kb-topic",
        object_id=f"{topic}@{version}",
        at=now,
    )

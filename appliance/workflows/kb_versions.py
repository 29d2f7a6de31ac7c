"""Knowledge-base answers edited in the console, with versions and four-eyes approval
(migration 11): the table, and what the live agent reads from it.

Each edit is a new row, `pending` until a second person approves it (the console,
appliance/console/kb.py; the table itself refuses an approver who is the proposer). The
agent reads only `approved` rows: for each topic the one approved last replaces the
file's topic of that id (or adds a topic); pending and rejected rows never reach a
caller. Rows are never deleted, and a decided row never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable

from appliance.errors import ApplianceError
from appliance.store.db import Connection, Database
from appliance.store.migrations import Migration
from appliance.workflows.kb import KnowledgeBase, Topic

logger = logging.getLogger(__name__)
KB_VERSIONS_VERSION = 12  # the user_version this migration leaves
TTL_S = 2.0  # s a process keeps the approved answers before reading them again

KB_VERSIONS_MIGRATION = Migration(
    KB_VERSIONS_VERSION,
    """
    CREATE TABLE kb_versions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        topic_id    TEXT NOT NULL,
        version     INTEGER NOT NULL,           -- 1, 2, ... per topic
        keywords    TEXT NOT NULL,              -- JSON list of strings
        answer      TEXT NOT NULL,              -- read aloud to callers once approved
        status      TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'rejected')),
        proposed_by TEXT NOT NULL,              -- console user name
        proposed_at REAL NOT NULL,              -- UNIX s
        decided_by  TEXT,
        decided_at  REAL,
        UNIQUE (topic_id, version),
        CHECK (status <> 'approved' OR coalesce(decided_by <> proposed_by, 0))  -- four eyes
    );
    CREATE INDEX kb_versions_live ON kb_versions(topic_id, status, decided_at);
    CREATE TRIGGER kb_versions_no_delete BEFORE DELETE ON kb_versions
    BEGIN SELECT RAISE(ABORT, 'knowledge-base versions are kept'); END;
    CREATE TRIGGER kb_versions_decided_once BEFORE UPDATE ON kb_versions
    WHEN OLD.status <> 'pending' OR NEW.answer IS NOT OLD.answer
      OR NEW.keywords IS NOT OLD.keywords OR NEW.topic_id IS NOT OLD.topic_id
      OR NEW.version IS NOT OLD.version OR NEW.proposed_by IS NOT OLD.proposed_by
    BEGIN SELECT RAISE(ABORT, 'a knowledge-base version is decided once'); END;
    """,
)


def approved_topics(conn: Connection) -> list[Topic]:
    """For each topic, its version approved last (in order of the topic's first row)."""
    rows = conn.execute(
        "SELECT topic_id, keywords, answer FROM kb_versions v WHERE id ="
        " (SELECT id FROM kb_versions w WHERE w.topic_id = v.topic_id AND w.status = 'approved'"
        "  ORDER BY decided_at DESC, id DESC LIMIT 1)"
        " ORDER BY (SELECT min(id) FROM kb_versions x WHERE x.topic_id = v.topic_id)"
    ).fetchall()
    return [Topic(str(r[0]), [str(k) for k in json.loads(r[1])], str(r[2])) for r in rows]


def with_approved(base: KnowledgeBase, approved: list[Topic]) -> KnowledgeBase:
    """`base` with each approved topic replacing the topic of its id, or added after."""
    by_id = {t.id: t for t in approved}
    topics = [by_id.pop(t.id, t) for t in base.topic]
    return KnowledgeBase([*topics, *by_id.values()])


class LiveKnowledgeBase:
    """The KB a new call gets: the file's topics with the approved answers of the store,
    read again at most every `ttl_s` (in the background: a call's start never waits on
    the store). When the store cannot be read, the last approved answers stay."""

    def __init__(
        self,
        db: Database,
        base: KnowledgeBase,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db, self._base, self._ttl, self._clock = db, base, ttl_s, clock
        self._kb = with_approved(base, db.query(approved_topics))  # blocking: at start-up
        self._read_at = clock()
        self._task: asyncio.Task[None] | None = None

    def current(self) -> KnowledgeBase:
        """The approved KB as last read; a read is started when it is older than ttl_s."""
        if self._clock() - self._read_at >= self._ttl and self._task is None:
            with contextlib.suppress(RuntimeError):  # no running loop: read at the next call
                self._task = asyncio.get_running_loop().create_task(self.refresh())
        return self._kb

    async def refresh(self) -> None:
        try:
            approved = await self._db.run_query(approved_topics)
        except ApplianceError as exc:
            logger.warning("kb: approved answers not read", extra={"stage": "kb", "code": exc.code})
        else:
            self._kb = with_approved(self._base, approved)
        finally:
            self._read_at, self._task = self._clock(), None

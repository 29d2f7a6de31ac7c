"""What the live agent reads of the knowledge base (appliance/workflows/kb_versions.py) on
the real store: the file's topics with the approved versions only; a pending or rejected
change never reaches a caller; an approval reaches new calls within the TTL, read in
the background."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.console.accounts import Actor
from appliance.console.kb import KbVersions
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.workflows.kb import KnowledgeBase, Topic
from appliance.workflows.kb_versions import LiveKnowledgeBase

pytestmark = pytest.mark.integration

BASE = KnowledgeBase([Topic("hours", ["hours", "open"], "Open 8 to 5.")])
LEAD, OWNER = Actor("lena", "contact-centre-lead"), Actor("olga", "owner")


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    db = Database.open(tmp_path / "kb.db", "cd" * 32, MIGRATIONS)
    yield db
    db.close()


async def test_only_approved_answers_go_live(db: Database) -> None:
    versions = KbVersions(db, lambda: 1_800_000_000.0, BASE)
    ticks = Ticks()
    live = LiveKnowledgeBase(db, BASE, ttl_s=2.0, clock=ticks)
    pending = versions.propose("hours", "hours, open", "Open 7 to 7.", LEAD)
    rejected = versions.propose("parking", "parking", "Park on the roof.", LEAD)
    versions.decide(rejected.id, False, OWNER)
    ticks.now += 3
    assert live.current().answer("when are you open") == "Open 8 to 5."
    await asyncio.sleep(0.2)  # the background read ran: still nothing approved
    assert live.current().answer("when are you open") == "Open 8 to 5."
    assert live.current().answer("where do I park") is None  # rejected: never live
    versions.decide(pending.id, True, OWNER)
    assert live.current().answer("when are you open") == "Open 8 to 5."  # within the TTL
    ticks.now += 3
    live.current()  # starts the read; this call still gets the last KB
    await asyncio.sleep(0.2)
    assert live.current().answer("when are you open") == "Open 7 to 7."
    assert [t.id for t in live.current().topic] == ["hours"]


async def test_a_new_topic_is_added_and_read_at_start(db: Database) -> None:
    versions = KbVersions(db, lambda: 1_800_000_000.0, BASE)
    added = versions.propose("parking", "park, parking", "Park behind the building.", LEAD)
    versions.decide(added.id, True, OWNER)
    live = LiveKnowledgeBase(db, BASE)  # reads the approved answers when it is made
    assert [t.id for t in live.current().topic] == ["hours", "parking"]
    assert live.current().answer("where can I park") == "Park behind the building."


def test_the_console_of_a_process_starts_from_the_configured_kb(
    tmp_path: Path, db: Database
) -> None:
    from appliance.config import load_settings
    from appliance.console.service import Console
    from tests.conftest import store_config

    kb = tmp_path / "kb.toml"
    kb.write_text('[[topic]]\nid = "parking"\nkeywords = ["park"]\nanswer = "Behind."\n')
    config = store_config(tmp_path, extra=f'[workflows]\nkb_file = "{kb}"\n')
    console = Console.from_settings(db, load_settings(config))
    assert [(t.id, t.answer) for t in console.kb.live().topic] == [("parking", "Behind.")]

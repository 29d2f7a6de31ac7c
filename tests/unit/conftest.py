"""Fixtures shared by the session tests: the real store in a tmp dir, a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.conversation.session import CallSession
from appliance.services.app_db import MIGRATIONS
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.fakes import FakeClock


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[CallRepository]:
    db = Database.open(tmp_path / "calls.db", "ab" * 32, MIGRATIONS)
    yield CallRepository(db)
    db.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def kinds(session: CallSession) -> list[str]:
    return [e.kind for e in session.events]

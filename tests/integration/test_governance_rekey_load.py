"""Rekey under load: `appliance db rekey` (its own process) while a writer keeps appending
turns and audited call events through its own open store, as a running agent does. No
committed row may be lost, the audit chain (appended by both) must verify, the writer
must carry on with the new key, and the old key must no longer open the store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.errors import StoreError
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditLog
from appliance.store.bootstrap import db_key, open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from tests.conftest import REPO
from tests.integration.test_governance_audit import make_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TEXT = "Turn text of a synthetic caller, number {n}."


class Writer(threading.Thread):
    """Appends a turn and an audited call event, over and over, until stopped."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.committed = 0  # turns whose write returned
        self.events = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.started_writing = threading.Event()

    def run(self) -> None:
        asyncio.run(self._write())

    async def _write(self) -> None:
        db = open_database(self.settings, MIGRATIONS)
        repo = CallRepository(db)
        try:
            await repo.start_call("load", time.time(), "PCMU", "h")
            while not self.stop.is_set():
                n = self.committed + 1
                try:
                    await repo.add_turn("load", "caller", TEXT.format(n=n), n, n + 0.5, {})
                    self.committed = n
                    await repo.add_event("load", "heard", "session", None, time.time())
                    self.events += 1
                except StoreError as exc:
                    self.errors.append(exc.code)
                    await asyncio.sleep(0.05)
                self.started_writing.set()
                await asyncio.sleep(0.002)
        finally:
            db.close()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Path]]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    made, config = make_settings(tmp_path, every=20)
    open_database(made, MIGRATIONS, create=True).close()
    yield made, config


def test_rekey_while_turns_are_written(settings: tuple[Settings, Path]) -> None:
    s, config = settings
    old = db_key(s)
    writer = Writer(s)
    writer.start()
    assert writer.started_writing.wait(20)
    while writer.committed < 50:
        time.sleep(0.01)
    before = writer.committed
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), "db", "rekey"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    took = time.monotonic() - started
    assert out.returncode == 0, out.stderr[-2000:]
    during = writer.committed - before
    target = writer.committed + 50  # the writer goes on with the new key
    deadline = time.monotonic() + 30
    while writer.committed < target and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop.set()
    writer.join(30)
    assert writer.errors == [], writer.errors
    assert writer.committed >= target, "the writer stopped after the rekey"

    new = db_key(s)
    assert new.key != old.key
    with pytest.raises(StoreError) as err:
        Database.open(s.path(s.store.db_file), old.hex, MIGRATIONS)
    assert err.value.code == "store-bad-key"
    db = open_database(s, MIGRATIONS)
    try:
        texts = [t.text for t in CallRepository(db).turns("load")]
        verdict = AuditLog(db).verify()
        actions = db.query(lambda c: [r[0] for r in c.execute("SELECT action FROM audit")])
        problems = db.integrity_problems()
    finally:
        db.close()
    assert texts == [TEXT.format(n=n) for n in range(1, writer.committed + 1)]  # none lost
    assert verdict.ok, verdict.line()
    assert actions.count("store.rekey") == 1
    assert actions.count("call.heard") == writer.events
    assert problems == []
    print(f"rekey took {took:.2f} s with {during} turns written meanwhile")


def test_a_reopen_that_found_no_key_is_retried(settings: tuple[Settings, Path]) -> None:
    """A store whose reconnect after a rotation found no working key (it read the key
    files mid-swap) tries again at its next transaction instead of staying closed."""
    s, _ = settings
    old, new = db_key(s).hex, "ab" * 32
    stale = [[old], [new]]  # the first look at the key files misses the new key
    writer_db = open_database(s, MIGRATIONS)
    writer_db.key_candidates = lambda: stale.pop(0) if stale else [new]
    other = open_database(s, MIGRATIONS)
    try:
        other.rekey(new)
    finally:
        other.close()
    repo = CallRepository(writer_db)
    try:
        with pytest.raises(StoreError) as err:
            asyncio.run(repo.start_call("after", time.time(), "PCMU", "h"))
        assert err.value.code == "store-bad-key"
        asyncio.run(repo.start_call("after", time.time(), "PCMU", "h"))  # not store-closed
        assert stale == []
    finally:
        writer_db.close()


def test_key_candidates_see_the_new_key_when_the_swap_lands_between_reads(
    settings: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rotation moves `db.key.new` onto `db.key`. Whenever that happens relative to
    the candidates' two reads, the new key is among them."""
    from appliance.store import bootstrap
    from appliance.store.keys import generate_key, write_key_file

    s, _ = settings
    key_file = s.path(s.store.key_file)
    new_key = generate_key()
    pending = key_file.with_name(key_file.name + ".new")
    write_key_file(pending, new_key)
    read_pending = bootstrap._read_if_present

    def swap_right_after(path: Path) -> str | None:
        seen = read_pending(path)
        os.replace(pending, key_file)  # the rotation's swap, between the two reads
        return seen

    monkeypatch.setattr(bootstrap, "_read_if_present", swap_right_after)
    assert new_key.hex() in bootstrap.key_candidates(s)

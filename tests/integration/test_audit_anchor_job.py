"""The running appliance's audit anchors: the schedule (on a virtual clock), the syslog
sink (RFC 5424 to a UDP listener on loopback) and the job's loop."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.__main__ import main
from appliance.config import Settings, load_settings
from appliance.errors import StoreError
from appliance.governance.audit_anchor import (
    AnchorExporter,
    AnchorFile,
    SyslogSink,
    anchor_path,
    anchor_periodically,
    configured_sinks,
    export_logged,
)
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditEvent, AuditLog, read_anchors
from appliance.store.bootstrap import open_database
from appliance.store.db import Database
from tests.conftest import store_config

pytestmark = pytest.mark.integration

HOUR = 3600.0
RFC5424 = re.compile(
    r"^<38>1 \d{4}-\d\d-\d\dT[\d:.]+\+00:00 \S+ appliance \d+ audit-anchor - (\{.*\})$"
)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    settings = load_settings(store_config(tmp_path, "audit_checkpoint_every = 5"))
    database = open_database(settings, MIGRATIONS, create=True)
    yield database
    database.close()


def append(db: Database, n: int) -> None:
    for i in range(n):
        AuditLog(db).append(AuditEvent("tester", "operator", f"test.action-{i}"))


class Recorder:
    """A sink at the Protocol seam that keeps what it was sent (or fails when told)."""

    def __init__(self) -> None:
        self.name, self.lines, self.fail = "recorder", [], False

    def write(self, line: str) -> None:
        if self.fail:
            raise StoreError("audit-anchor-test-failed", "told to fail")
        self.lines.append(json.loads(line)["seq"])


def test_the_schedule_on_a_virtual_clock(db: Database, tmp_path: Path) -> None:
    now = [0.0]
    file, other = AnchorFile(tmp_path / "anchors.jsonl"), Recorder()
    exporter = AnchorExporter(db, [file, other], every_s=HOUR, clock=lambda: now[0])
    append(db, 3)
    assert exporter.tick().seq == 3  # at start: the end is signed and exported
    append(db, 1)  # 4: not signed yet
    now[0] = 0.5 * HOUR
    assert exporter.tick() is None
    append(db, 1)  # 5: signed by the writer (audit_checkpoint_every)
    now[0] = 0.6 * HOUR
    assert exporter.tick().seq == 5  # exported at the next look, before the hour
    append(db, 2)  # 7
    now[0] = 0.99 * HOUR
    assert exporter.tick() is None
    now[0] = 1.0 * HOUR + 1.0  # an hour after the last signing: the end is signed
    assert exporter.tick().seq == 7
    now[0] = 2.5 * HOUR  # nothing new: nothing is signed twice or sent again
    assert exporter.tick() is None
    other.fail = True  # one sink down: the others still get it, and it is tried again
    append(db, 1)  # 8
    now[0] = 3.6 * HOUR
    with pytest.raises(StoreError) as err:
        exporter.tick()
    assert err.value.code == "audit-anchor-test-failed"
    other.fail = False
    now[0] = 3.7 * HOUR
    assert exporter.tick().seq == 8
    assert other.lines == [3, 5, 7, 8]
    anchors, skipped = read_anchors(file.path)
    assert [a.seq for a in anchors] == [3, 5, 7, 8, 8] and skipped == 0
    assert AuditLog(db).verify(anchors).ok


async def test_the_job_exports_new_checkpoints_until_stopped(db: Database) -> None:
    other = Recorder()
    exporter = AnchorExporter(db, [other], every_s=HOUR)
    stop = asyncio.Event()
    append(db, 2)
    job = asyncio.create_task(anchor_periodically(exporter, stop, poll_s=0.02))
    for _ in range(200):
        await asyncio.sleep(0.02)
        if other.lines:
            break
    await asyncio.to_thread(append, db, 3)  # 5: the writer signs it; the job exports it
    for _ in range(200):
        await asyncio.sleep(0.02)
        if other.lines[-1:] == [5]:
            break
    stop.set()
    await asyncio.wait_for(job, 5)
    assert other.lines == [2, 5]


async def test_a_failing_export_shows_on_health_until_it_works_again(db: Database) -> None:
    sink, reports = Recorder(), []
    exporter = AnchorExporter(db, [sink], every_s=HOUR)
    sink.fail = True
    append(db, 2)
    await export_logged(exporter.tick, lambda ok, detail: reports.append((ok, detail)))
    sink.fail = False
    await export_logged(exporter.tick, lambda ok, detail: reports.append((ok, detail)))
    assert reports == [
        (False, "audit-anchor-test-failed: the anchors are not being exported"),
        (True, "exported up to record 2"),
    ]
    assert sink.lines == [2]


async def test_no_job_when_the_interval_is_zero(db: Database) -> None:
    other = Recorder()
    await asyncio.wait_for(
        anchor_periodically(AnchorExporter(db, [other], 0.0), asyncio.Event()), 1
    )
    assert other.lines == []


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_syslog_gets_rfc5424_messages_with_the_anchor(
    db: Database, listener: socket.socket, tmp_path: Path
) -> None:
    port = listener.getsockname()[1]
    exporter = AnchorExporter(db, [SyslogSink("127.0.0.1", port)], every_s=HOUR)
    append(db, 4)
    cp = exporter.tick()
    data = listener.recv(4096)
    match = RFC5424.match(data.decode())
    assert match, data
    assert not data.endswith(b"\x00")  # RFC 5424 over UDP: one message, no NUL
    row = json.loads(match.group(1))
    assert (row["seq"], row["hash"], row["signature"]) == (4, cp.hash, cp.signature)
    log = tmp_path / "remote.log"  # what the syslog server wrote is an anchor file too
    log.write_text(data.decode() + "\nanother host's message\n")
    assert [a.seq for a in read_anchors(log)[0]] == [4]


def test_the_configured_syslog_gets_the_anchor_of_audit_anchor(
    tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    port = listener.getsockname()[1]
    config = store_config(tmp_path, f'audit_anchor_syslog = "127.0.0.1:{port}"')
    settings: Settings = load_settings(config)
    database = open_database(settings, MIGRATIONS, create=True)
    append(database, 2)
    database.close()
    assert [s.name for s in configured_sinks(settings)] == [
        f"file {anchor_path(settings)}",
        f"syslog 127.0.0.1:{port}",
    ]
    assert main(["--config", str(config), "audit", "anchor"]) == 0
    match = RFC5424.match(listener.recv(4096).decode())
    assert match and json.loads(match.group(1))["seq"] == 2
    assert read_anchors(anchor_path(settings))[0][0].seq == 2


def test_a_failing_syslog_is_a_coded_error_and_the_file_still_gets_the_anchor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Broadcast without SO_BROADCAST: the kernel refuses the datagram (EACCES)."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = store_config(tmp_path, 'audit_anchor_syslog = "255.255.255.255:9"')
    settings = load_settings(config)
    database = open_database(settings, MIGRATIONS, create=True)
    append(database, 2)
    database.close()
    assert main(["--config", str(config), "audit", "anchor"]) == 2
    assert "error audit-anchor-syslog-failed: 255.255.255.255:9: PermissionError" in (
        capsys.readouterr().err
    )
    assert [a.seq for a in read_anchors(anchor_path(settings))[0]] == [2]
    assert main(["--config", str(config), "audit", "export", "--out", str(tmp_path / "ex")]) == 0
    assert "warning audit-anchor-syslog-failed" in capsys.readouterr().err  # export written
    assert [a.seq for a in read_anchors(anchor_path(settings))[0]] == [2, 3]

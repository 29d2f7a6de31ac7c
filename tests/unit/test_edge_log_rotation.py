"""The edge's redacted Kamailio log rotates by size: bounded, whole lines, owner-only."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from appliance.edge import log

pytestmark = pytest.mark.unit
LIMIT = 2_000
KEPT = 2


def kamailio_line(n: int) -> bytes:
    return f" 1(1388) NOTICE: <script>: line {n:05d} of the edge's own log\n".encode()


async def copy(lines: list[bytes], log_file: Path) -> None:
    stream = asyncio.StreamReader()
    for line in lines:
        stream.feed_data(line)
    stream.feed_eof()
    await log.copy_redacted(stream, log_file)


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log, "MAX_BYTES", LIMIT, raising=False)
    monkeypatch.setattr(log, "BACKUPS", KEPT, raising=False)


@pytest.mark.usefixtures("small_limit")
async def test_the_log_rotates_keeps_n_old_files_and_whole_lines(tmp_path: Path) -> None:
    log_file = tmp_path / "log" / "sip-edge.log"
    total = 200  # about 12 KB: six times the limit
    await copy([kamailio_line(n) for n in range(total)], log_file)
    files = [log_file.with_name(f"sip-edge.log.{i}") for i in range(KEPT, 0, -1)] + [log_file]
    assert sorted(p.name for p in log_file.parent.iterdir()) == sorted(p.name for p in files)
    numbers: list[int] = []
    for path in files:
        assert 0 < path.stat().st_size <= LIMIT
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n")
        for line in text.splitlines():
            assert line == kamailio_line(int(line.split()[4])).decode().rstrip("\n")
            numbers.append(int(line.split()[4]))
    # oldest to newest across the kept files: one unbroken run ending at the last line
    assert numbers == list(range(numbers[0], total)) and numbers[0] > 0


@pytest.mark.usefixtures("small_limit")
async def test_a_restart_appends_and_an_old_readable_file_is_made_owner_only(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "sip-edge.log"
    log_file.write_text(kamailio_line(0).decode(), encoding="utf-8")
    log_file.chmod(0o644)
    await copy([kamailio_line(1), b"not kamailio's\n"], log_file)
    assert log_file.read_bytes() == kamailio_line(0) + kamailio_line(1)
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600

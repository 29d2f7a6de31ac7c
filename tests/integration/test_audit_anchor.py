"""Audit anchors (issue 15 finding 8): the running appliance exports signed checkpoints to
a place it cannot rewrite, and `appliance audit verify` checks the live chain against
them without being told where they are, so a deleted tail is found."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from appliance.__main__ import main
from appliance.config import Settings, load_settings
from appliance.errors import ConfigError
from appliance.governance.audit_anchor import AnchorFile, anchor_path, configured_sinks
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import AuditEvent, AuditLog
from appliance.store.bootstrap import db_key, open_database
from tests.conftest import store_config

pytestmark = pytest.mark.integration

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Path]]:
    """A real SQCipher store with 12 audit records (checkpoints every 5)."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    config = store_config(tmp_path, "audit_checkpoint_every = 5")
    settings = load_settings(config)
    append(settings, 12)
    yield settings, config


def append(settings: Settings, n: int) -> None:
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        log = AuditLog(db)
        for i in range(n):
            log.append(AuditEvent("tester", "operator", f"test.action-{i}", object_id=str(i)))
    finally:
        db.close()


def raw(settings: Settings) -> Any:
    """A raw connection with the database key, as an attacker holding it would have."""
    conn = sqlcipher3.connect(str(settings.path(settings.store.db_file)), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{db_key(settings).hex}'\"")
    for trigger in ("audit_no_update", "audit_no_delete", "audit_checkpoints_no_delete"):
        conn.execute(f"DROP TRIGGER {trigger}")
    return conn


def truncate(settings: Settings, after: int) -> None:
    conn = raw(settings)
    conn.execute("DELETE FROM audit WHERE seq > ?", (after,))
    conn.execute("DELETE FROM audit_checkpoints WHERE seq > ?", (after,))
    conn.close()


def test_verify_finds_a_deleted_tail_without_being_given_an_anchor(
    store: tuple[Settings, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tail (with its checkpoints) deleted after an export: `audit verify` with no
    --anchor reads the anchor the export left in the configured file and fails."""
    settings, config = store
    assert main(["--config", str(config), "audit", "export", "--out", str(tmp_path / "ex")]) == 0
    truncate(settings, after=8)
    capsys.readouterr()
    code = main(["--config", str(config), "audit", "verify"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "audit FAILED at record 9 (audit-truncated)" in err
    assert "exported anchor at 13" in err


def test_a_tail_regrown_past_the_anchor_is_found_too(
    store: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Records appended after the deletion reach the anchored number with another hash."""
    settings, config = store
    assert main(["--config", str(config), "audit", "anchor"]) == 0
    truncate(settings, after=8)
    append(settings, 7)  # 9 .. 15, new hashes
    capsys.readouterr()
    assert main(["--config", str(config), "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "(audit-rewritten): chain does not match the exported anchor at 12" in err


def test_anchor_cli_appends_lines_without_phi_and_verify_reads_them_all(
    store: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, config = store
    assert main(["--config", str(config), "audit", "anchor"]) == 0
    append(settings, 3)
    assert main(["--config", str(config), "audit", "anchor"]) == 0
    path = anchor_path(settings)
    assert path == settings.var_dir / "audit" / "anchors.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["seq"] for row in lines] == [12, 15]
    for row in lines:  # numbers, hex and times only
        assert set(row) == {"type", "seq", "hash", "at", "key_id", "signature", "exported_at"}
        assert row["type"] == "audit-anchor" and re.fullmatch(r"[0-9a-f]{64}", row["hash"])
        assert re.fullmatch(r"[0-9a-f]{16}", row["key_id"])
        assert re.fullmatch(r"[0-9a-f]{128}", row["signature"])
        assert all(re.fullmatch(ISO, row[k]) for k in ("at", "exported_at"))
    with path.open("a") as fh:  # what someone else appended is skipped, never trusted
        fh.write("not an anchor\n")
        fh.write(json.dumps({**lines[0], "seq": "12"}) + "\n")
        fh.write('{"seq": 15, "hash": "cut sh')  # a line cut short by a power loss
    assert main(["--config", str(config), "audit", "anchor"]) == 0  # starts a line of its own
    capsys.readouterr()
    assert main(["--config", str(config), "audit", "verify"]) == 0
    out, err = capsys.readouterr()
    assert "anchors: 3 in" in out and "latest at record 15" in out
    assert "audit OK: 15 records, 4 signed checkpoints, 2 exported anchors" in out
    assert "3 lines in" in err and "are not anchors (skipped)" in err


def test_a_forged_anchor_fails_verification(
    store: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, config = store
    assert main(["--config", str(config), "audit", "anchor"]) == 0
    path = anchor_path(settings)
    row = json.loads(path.read_text())
    with path.open("a") as fh:  # a later seq with a signature made by another key
        fh.write(json.dumps({**row, "seq": 40}) + "\n")
    capsys.readouterr()
    assert main(["--config", str(config), "audit", "verify"]) == 1
    assert "(audit-signature-invalid): exported anchor at 40 has a bad signature" in (
        capsys.readouterr().err
    )


def test_verify_without_any_anchor_says_a_tail_cannot_be_checked(
    store: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = store
    assert main(["--config", str(config), "audit", "verify"]) == 0
    assert "no anchor in" in capsys.readouterr().err
    assert main(["--config", str(config), "audit", "verify", "--anchor", str(config)]) == 2
    assert "error audit-anchor-unreadable" in capsys.readouterr().err


@pytest.fixture
def append_only(tmp_path: Path) -> Iterator[Path]:
    """An anchor file as a host has it: append-only (chattr +a) in a folder of its own."""
    folder = tmp_path / "appliance-audit"
    folder.mkdir()
    path = folder / "anchors.jsonl"
    path.touch(mode=0o660)
    made = subprocess.run(["chattr", "+a", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +a is not possible here: {made.stderr.strip()}")
    yield path
    subprocess.run(["chattr", "-a", str(path)], check=True)


def test_an_append_only_anchor_file_takes_anchors_but_cannot_be_rewritten(
    tmp_path: Path, append_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(tmp_path, f'audit_anchor_file = "{append_only}"')
    settings = load_settings(config)
    append(settings, 12)
    assert main(["--config", str(config), "audit", "anchor"]) == 0
    assert AnchorFile(append_only).append_only() is True
    assert "not append-only" not in capsys.readouterr().out
    for rewrite in (
        lambda: append_only.write_text(""),
        lambda: os.truncate(append_only, 0),
        lambda: append_only.unlink(),
        lambda: append_only.rename(append_only.with_suffix(".old")),
    ):
        with pytest.raises(PermissionError):
            rewrite()
    # a process without CAP_LINUX_IMMUTABLE (the units have no capabilities) cannot lift it
    lift = subprocess.run(
        ["setpriv", "--bounding-set=-linux_immutable", "--inh-caps=-all", "chattr", "-a",
         str(append_only)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert lift.returncode != 0 and "Operation not permitted" in lift.stderr
    truncate(settings, after=8)
    assert main(["--config", str(config), "audit", "verify"]) == 1
    assert "(audit-truncated)" in capsys.readouterr().err


def test_a_configured_anchor_file_needs_its_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "anchors.jsonl"
    config = store_config(tmp_path, f'audit_anchor_file = "{missing}"')
    settings = load_settings(config)
    append(settings, 1)
    with pytest.raises(ConfigError) as err:
        configured_sinks(settings)
    assert err.value.code == "config-audit-anchor-file"
    assert main(["--config", str(config), "audit", "anchor"]) == 2
    (tmp_path / "a-folder").mkdir()
    config = store_config(tmp_path, f'audit_anchor_file = "{tmp_path}"')  # not a file
    with pytest.raises(ConfigError) as err:
        configured_sinks(load_settings(config))
    assert err.value.code == "config-audit-anchor-file"

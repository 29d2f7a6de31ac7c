# ruff: noqa: F811 (the screens tests' fixtures, imported, are parameters here)
"""The quality audio sample on the console's transcript page, over HTTP on the real store:
a sampled turn has a player whose WAV route is audited as `phi.read` naming the user and
never cached, and a correction form (CSRF) whose text lands as the reviewer's correction
that the weekly WER counts; roles without read-transcripts are refused both."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.audio import AudioChunk, read_wav
from appliance.console.service import Console
from appliance.ports import TurnAudio
from appliance.quality.audio_store import keep_turns
from appliance.quality.wer_store import corrected_turns
from appliance.store.db import Database
from tests.integration.console_seed import CALLER_WORDS, Seeded
from tests.integration.test_console_screens import (  # noqa: F401 (fixtures)
    WallClock,
    app,
    audit_log,
    clock,
    console,
    csrf_of,
    db,
    seeded,
    sign_in_as,
)

pytestmark = pytest.mark.integration

PCM = bytes(range(256)) * 25  # 0.2 s at 16 kHz
SAID = "my name is Zelda Quasimodo and my knee hurts badly"


@pytest.fixture
def kept(db: Database, seeded: Seeded) -> str:
    """The escalated call's caller turn (seq 1) kept in the sample."""
    turns = [TurnAudio(1, AudioChunk(PCM, 16_000))]
    assert db.execute(keep_turns, seeded.escalated, "escalated", turns, 1.0) == 1
    return seeded.escalated


def test_a_reviewer_plays_a_sampled_turn_audited_under_their_name(
    app: Litestar, console: Console, clock: WallClock, kept: str, seeded: Seeded
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "rita", "quality-reviewer")
        page = client.get(f"/console/calls/{kept}/transcript").text
        src = f"/console/calls/{kept}/audio/1"
        assert f'<audio controls preload="none" src="{src}"' in page
        assert page.count("<audio") == 1 and 'name="csrf"' in page  # turn 2: the agent
        assert f"/console/calls/{seeded.booked}/audio" not in page
        played = client.get(src)
        assert played.status_code == 200 and played.headers["content-type"] == "audio/wav"
        assert played.headers["cache-control"] == "no-store"
        assert played.content[:4] == b"RIFF" and read_wav(played.content).pcm == PCM
        assert client.get(f"/console/calls/{kept}/audio/2").status_code == 404
    reads = [a for a in audit_log(console.db) if a[1] == "phi.read"]
    assert reads == [
        ("rita", "phi.read", kept, "ok", "transcript"),
        ("rita", "phi.read", f"{kept}:1", "ok", "audio"),
    ]
    assert CALLER_WORDS not in repr(audit_log(console.db))


def test_a_correction_lands_for_the_weekly_wer_and_is_audited(
    app: Litestar, console: Console, clock: WallClock, kept: str
) -> None:
    form = {"seq": "1", "text": SAID}
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "rita", "quality-reviewer")
        forged = client.post(f"/console/calls/{kept}/correct", data=form)
        assert forged.status_code == 403  # no CSRF token
        sent = client.post(
            f"/console/calls/{kept}/correct",
            data={**form, "csrf": csrf_of(client)},
            follow_redirects=False,
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/console/calls/{kept}/transcript?corrected=1#turn-1"
        done = client.get(sent.headers["location"]).text
        assert 'id="correction-done"' in done
        wrong = {"seq": "2", "text": "thank you", "csrf": csrf_of(client)}
        refused = client.post(f"/console/calls/{kept}/correct", data=wrong)
        assert 'id="correction-error"' in refused.text
        assert "quality-not-caller-turn" in refused.text
    rows = console.db.query(lambda c: corrected_turns(c, 0.0, clock.now + 1))
    assert [(r.call_id, r.seq, r.transcript, r.corrected) for r in rows] == [
        (kept, 1, CALLER_WORDS, SAID)
    ]
    writes = [a for a in audit_log(console.db) if a[1] == "phi.write"]
    assert writes == [("rita", "phi.write", f"{kept}:1", "ok", None)]
    assert SAID not in repr(audit_log(console.db))


@pytest.mark.parametrize("role", ["platform-engineer", "front-desk"])
def test_roles_without_read_transcripts_are_refused(
    app: Litestar, console: Console, clock: WallClock, kept: str, role: str
) -> None:
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "otto", role)
        assert client.get(f"/console/calls/{kept}/audio/1").status_code == 403
        sent = client.post(
            f"/console/calls/{kept}/correct",
            data={"seq": "1", "text": SAID, "csrf": csrf_of(client)},
            follow_redirects=False,
        )
        assert sent.status_code == 403
    log = audit_log(console.db)
    assert not [a for a in log if a[1] in ("phi.read", "phi.write")]

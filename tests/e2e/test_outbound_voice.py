"""Reminder calls answered by voice, over real loopback SIP with the real models on the
dialler's side (Piper speaks, Silero ends the turns, Whisper tiny.en hears): the pjsua2
callee (tests/integration/telephony_peer.py --say) answers with recorded sentences
synthesized by Piper beforehand. A "yes, that's me" and "yes, I'll be there" confirm the
appointment (audited); a "stop calling me" revokes the consent, lists the number, and
the next run does not dial it (the callee sees no second INVITE)."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.artifacts.model_files import model_dir
from appliance.config import Settings, load_settings
from appliance.outbound.dialler import Pacing, RunReport
from appliance.outbound.reminder_call import Voice
from appliance.outbound.run import RunOptions, build_dialler, reminder_call
from appliance.speech.stt import WhisperStt
from appliance.speech.tts import PiperTts
from appliance.speech.vad import SileroTurnDetector
from appliance.store.db import Connection, Database
from tests.conftest import store_config
from tests.e2e.test_outbound_reminders import (
    ANA,
    CALLBACK,
    NOON_TUESDAY,
    VOICE,
    WEDNESDAY,
    ShiftedClock,
    Watched,
    drain_events,
)
from tests.integration.outbound_support import KEY as HASH_KEY
from tests.integration.outbound_support import NY, book, consent, ledger, open_store
from tests.integration.speech_support import models_dir
from tests.integration.test_telephony import Peer, running, sip_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(store_config(tmp_path, extra="[outbound]\nenabled = true\n"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "voice.db")
    book(store, "a4", "p4", datetime(2026, 11, 25, 15, tzinfo=NY))
    consent(ledger(store), "p4", ANA, datetime(2026, 10, 1, tzinfo=NY))
    yield store
    store.close()


@pytest.fixture(scope="module")
def voice_models() -> Iterator[tuple[PiperTts, WhisperStt]]:
    s = load_settings(None)
    tts = PiperTts.load(model_dir(models_dir(), VOICE), VOICE)
    stt = WhisperStt.load(model_dir(models_dir(), s.stt.model), s.stt)
    yield tts, stt
    tts.close()


def recorded(tts: PiperTts, text: str, path: Path) -> str:
    """The callee's sentence, synthesized once and kept as a WAV (what the peer plays)."""
    audio = tts.synthesize_all(text)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.rate)
        w.writeframes(audio.pcm)
    return str(path)


async def runs(
    settings: Settings,
    db: Database,
    models: tuple[PiperTts, WhisperStt],
    says: list[str],
    times: int,
) -> tuple[list[RunReport], list[dict[str, Any]]]:
    """`times` dialler runs against one callee peer that answers with `says`."""
    tts, stt = models
    clock = ShiftedClock(NOON_TUESDAY)
    voice = Voice(tts, stt, lambda: SileroTurnDetector(settings.vad), clock)
    args = [a for path in says for a in ("--say", path)]
    callee = Peer("--rtp-port", "49800", "--no-echo", "--hangup-after", "40", *args)
    reports: list[RunReport] = []
    try:
        talk = reminder_call(settings, db, voice, CALLBACK)
        await talk.prepare()
        async with running(sip_settings()) as telephony:
            options = RunOptions(WEDNESDAY, f"127.0.0.1:{callee.port}", CALLBACK, 0, Pacing())
            dialler = build_dialler(
                settings, db, HASH_KEY, (Watched(telephony), talk, clock), options
            )
            for _ in range(times):
                reports.append(await dialler.run(WEDNESDAY))
        events = drain_events(callee)
    finally:
        assert callee.close() == 0
    return reports, events


def audit_of(db: Database) -> list[tuple[str, str, str]]:
    def read(conn: Connection) -> list[tuple[str, str, str]]:
        rows = conn.execute("SELECT action, object_id, reason_code FROM audit ORDER BY seq")
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    return db.query(read)


async def test_a_spoken_yes_confirms_the_appointment(
    settings: Settings, db: Database, voice_models: tuple[PiperTts, WhisperStt], tmp_path: Path
) -> None:
    tts = voice_models[0]
    says = [
        recorded(tts, "Yes, that's me.", tmp_path / "me.wav"),
        recorded(tts, "Yes, I'll be there.", tmp_path / "there.wav"),
    ]
    (report,), events = await runs(settings, db, voice_models, says, 1)
    assert [(a.appointment_id, a.outcome, a.result) for a in report.attempts] == [
        ("a4", "answered", "confirmed")
    ]
    assert [e["index"] for e in events if e["event"] == "said"] == [0, 1]
    assert ("reminder.confirmed", "a4", "confirmed") in audit_of(db)
    confirmed = db.query(
        lambda c: c.execute("SELECT confirmed_via FROM appointments WHERE id = 'a4'").fetchone()
    )
    assert tuple(confirmed) == ("reminder-call",)  # the appointment was updated
    assert ledger(db).consent("p4", ANA) == "active" and not ledger(db).on_dnc(ANA)


async def test_stop_calling_me_revokes_and_the_next_run_does_not_dial(
    settings: Settings, db: Database, voice_models: tuple[PiperTts, WhisperStt], tmp_path: Path
) -> None:
    says = [recorded(voice_models[0], "Stop calling me.", tmp_path / "stop.wav")]
    (first, second), events = await runs(settings, db, voice_models, says, 2)
    assert [(a.appointment_id, a.result) for a in first.attempts] == [("a4", "opted-out")]
    assert second.attempts == [] and second.not_dialled == {"a4": "dnc"}
    assert len([e for e in events if e["event"] == "call"]) == 1  # no second INVITE
    assert ledger(db).consent("p4", ANA) == "revoked" and ledger(db).on_dnc(ANA)
    actions = [a for a, _, _ in audit_of(db)]
    assert actions.index("consent.revoked") < actions.index("dnc.added")

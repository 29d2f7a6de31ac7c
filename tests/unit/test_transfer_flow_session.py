"""A whole call session with `transfer_mode = "attended"`: the real workflow engine and
schedule on SQLCipher, scripted speech on virtual time. The caller identifies, asks for a
person; the desk hears a whisper built from the stored packet, without the caller's name
or date of birth, and the caller's hold prompt plays meanwhile."""

from __future__ import annotations

import dataclasses
import json

import pytest

from appliance.conversation.prompts import Prompt
from appliance.conversation.session import CallSession, TransferPolicy
from appliance.observability.transfers import transfers
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.workflows.handoff_store import HandoffStore
from tests.fakes import FakeClock, FakeStt, FakeTts, session_deps
from tests.fakes.transfer import TransferringCall
from tests.unit.test_session_workflows import chat, db  # noqa: F401 (fixture)

pytestmark = pytest.mark.unit


async def test_an_identified_caller_is_whispered_to_the_desk_without_phi(db: Database) -> None:  # noqa: F811
    clock = FakeClock()
    repo = CallRepository(db)
    lines = [
        "I'd like to book an appointment.",
        "My name is Maria Gonzalez, born April 12th, 1980.",
        "Actually, can I talk to a real person?",
    ]
    tts = FakeTts(clock)
    deps, _ = await session_deps(clock, repo, FakeStt(clock, lines), None, tts=tts)
    deps = dataclasses.replace(
        deps,
        agent=chat(db, clock),
        transfer=TransferPolicy("sip:desk@127.0.0.1", "attended"),
    )
    call = TransferringCall(clock, answers=len(lines), status=200, ring_s=2.0)
    before = transfers("success")
    outcome = await clock.run(CallSession(call, deps).run())
    assert outcome == "completed" and call.hung_up and transfers("success") == before + 1
    [(uri, headers)] = call.consultations
    [stored] = HandoffStore(db).packets("fake-call")
    packet = json.loads(stored.packet)
    assert packet["caller"]["name"] == "Maria Gonzalez"  # the packet has the PHI ...
    assert uri == "sip:desk@127.0.0.1" and not call.transfers  # attended, not blind
    assert headers["X-Appliance-Handoff"] == packet["handoff_id"]
    whisper = (
        "Transferring a caller who wants to book an appointment; identity verified; "
        "they asked for a person."
    )
    assert whisper in tts.texts  # ... the whisper does not
    assert not any(w in whisper for w in ("Maria", "Gonzalez", "1980", "April"))
    assert call.desk_heard and call.whispered_at is not None
    hold = deps.cache.get(Prompt.HOLD)
    assert hold and call.played[-len(hold) :] == hold  # the caller was on hold meanwhile
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert ("whisper-played", "caller-request") in events
    assert ("transfer-ok", "answered") in events

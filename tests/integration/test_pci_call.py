"""PCI test over real SIP: a caller asks to pay, then keys 16 digits (RFC 4733) AND speaks
the card number aloud. A real agent process (real VAD, Whisper, Piper, SQLCipher store)
must keep both out of the store (and its WAL), its DEBUG logs, the LLM requests (captured
by a recording LLM server) and any file in its data directory."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from appliance.governance import checklist
from appliance.services.app_db import MIGRATIONS
from appliance.store.db import Database
from appliance.store.keys import load_key
from tests.integration.governance_calls import (
    AgentProcess,
    LlmRecorder,
    calling,
    leaks,
    speech,
)
from tests.integration.rollout_seed import Clock, enrol

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

CARD = "4929738526140058"
SPOKEN = "My card number is four nine two nine, seven three eight five, two six one four, zero zero five eight."  # noqa: E501
CANARIES = [
    CARD,
    *(CARD[i : i + 8] for i in range(0, 9, 4)),  # any 8 digits in a row
    "4929 7385", "7385 2614", "2614 0058", "4929-7385", "7385-2614", "2614-0058",
    "four nine two nine", "seven three eight five", "two six one four", "zero zero five eight",
]  # fmt: skip
# free-LLM mode (a store without patients): the model sees every turn the session lets
# through, so the recording server is the strictest check that the card never reaches it
PCI = """
[workflows]
enabled = false
[pci]
enabled = true
mode = "collect"
expected_digits = 16
timeout_s = 60.0
"""


def sign_off_ready(agent: AgentProcess) -> pyotp.TOTP:
    """The running agent's store gets an owner and a compliance officer (the TOTP of the
    latter) and billing's checklist done."""
    key = load_key("db.key", agent.var / "keys/db.key").hex
    db = Database.open(agent.var / "appliance.db", key, MIGRATIONS)
    try:
        clock = Clock(time.time() - 120)
        enrol(db, "owner", "owner", clock)
        officer = enrol(db, "compliance", "compliance-officer", clock)
        for item in checklist.ITEM_IDS:
            checklist.tick(db, checklist.Tick("billing", item, "owner", "tests/pci"))
    finally:
        db.close()
    return officer


def digit_runs(data: bytes) -> list[str]:
    """Digit sequences with spaces/dashes between groups removed (a card however written)."""
    text = data.decode("latin-1")
    return [re.sub(r"[ -]", "", m) for m in re.findall(r"\d[\d -]{6,}\d", text)]


def card_in(data: bytes) -> list[str]:
    found = leaks(data, CANARIES)
    windows = {CARD[i : i + 8] for i in range(9)}
    found += [run for run in digit_runs(data) if any(w in run for w in windows)]
    return found


@pytest.fixture(scope="module")
def paid_call(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("pci")
    llm = LlmRecorder()
    agent = AgentProcess(root, models_dir, llm.base_url, PCI)
    try:
        ask = speech(models_dir, "Hello, I would like to pay my bill, please.")
        card = speech(models_dir, SPOKEN)
        question = speech(models_dir, "Thank you. What time do you open tomorrow?")
        agent.wait_ready()
        # card payments belong to the high-risk billing use case: killed until promoted,
        # its checklist done, with a compliance officer's TOTP sign-off
        officer = sign_off_ready(agent)
        who = ("--by", "owner", "--approved-by", "compliance", "--totp", officer.now(),
               "--comment", "PCI pause tested")  # fmt: skip
        promoted = agent.cli("usecases", "promote", "billing", "--to", "pilot", *who)
        assert promoted.returncode == 0, promoted.stderr

        async def call() -> None:
            async with calling(agent.uri) as caller:
                await caller.agent_turn(min_s=4.0)  # the greeting
                await caller.say(ask)
                await caller.agent_turn(min_s=4.0)  # the PCI notice (not a filler)
                # speak the number while keying it in; the last key after the speech
                gap = card.duration / len(CARD)

                async def keys() -> None:
                    for digit in CARD:
                        await asyncio.sleep(gap)
                        await caller.call.send_dtmf(digit, "rfc4733")

                await asyncio.gather(caller.say(card), keys())
                await caller.agent_turn(min_s=2.0)  # "thank you, your card details were entered"
                await caller.say(question)
                await caller.agent_turn(min_s=1.5)  # the LLM's reply

        asyncio.run(asyncio.wait_for(call(), 200))
    finally:
        code = agent.stop()
        llm.close()
    assert code == 0, agent.log.read_text()[-3000:]
    yield {"agent": agent, "llm": llm}


def test_payment_mode_was_entered_and_the_digits_counted(paid_call) -> None:
    agent: AgentProcess = paid_call["agent"]
    db = Database.open(
        agent.var / "appliance.db", load_key("db.key", agent.var / "keys/db.key").hex, MIGRATIONS
    )
    try:
        rows = db.query(lambda c: c.execute("SELECT kind, code FROM call_events").fetchall())
        audit = db.query(lambda c: c.execute("SELECT action, reason_code FROM audit").fetchall())
        turns = db.query(lambda c: c.execute("SELECT speaker, text FROM turns").fetchall())
    finally:
        db.close()
    assert ("pci-pause-start", "collect") in rows
    assert ("pci-pause-end", "complete:16-digits") in rows
    assert ("call.pci-pause-end", "complete:16-digits") in audit
    caller = [text.lower() for speaker, text in turns if speaker == "caller"]
    assert any("pay my bill" in t for t in caller), caller  # the trigger was heard
    assert any("open" in t for t in caller), caller  # ... and the question after the pause
    for _, text in turns:
        assert not card_in(text.encode()), text


def test_card_digits_and_spoken_number_appear_nowhere(paid_call) -> None:
    agent: AgentProcess = paid_call["agent"]
    llm: LlmRecorder = paid_call["llm"]
    for written in (SPOKEN, "4929 7385 2614 0058", "card 4929-7385-2614-0058", "73852614"):
        assert card_in(written.encode()), written  # the check itself finds every form
    # the LLM saw the conversation after the pause, and nothing of the payment
    assert llm.bodies and any(b"open" in body for body in llm.bodies)
    assert not any(b"pay my bill" in body for body in llm.bodies)
    for body in llm.bodies:
        assert not card_in(body), body[-500:]
    files = [p for p in agent.var.rglob("*") if p.is_file()]
    assert any(p.name == "appliance.db" for p in files)
    for path in [*files, agent.log]:
        assert not card_in(path.read_bytes()), path
    assert not [p for p in files if p.suffix in (".wav", ".raw", ".pcm", ".ulaw")]  # no recording
    log = agent.log.read_text()
    assert '"level": "DEBUG"' in log  # DEBUG logging was on

"""PCI pause on virtual time: the session's payment mode with scripted fakes, the real store."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest

from appliance.audio import AudioChunk
from appliance.config import Pci
from appliance.conversation.flows.payment import pci_prompts
from appliance.conversation.session import CallSession
from appliance.domain import Utterance
from appliance.governance.pci import PaymentPause, PciPolicy
from appliance.store.calls import CallRepository
from tests.fakes import FakeCall, FakeClock, FakeLlm, FakeStt, session_deps
from tests.unit.conftest import kinds

pytestmark = pytest.mark.unit

CARD = "4111111111111111"


class RecordingStt(FakeStt):
    """FakeStt that remembers the span of every utterance it was given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spans: list[tuple[float, float]] = []

    async def transcribe(self, utterance: Utterance) -> Any:
        self.spans.append((utterance.speech_start, utterance.speech_end))
        return await super().transcribe(utterance)


class PayingCall(FakeCall):
    """Presses the card digits `gap_s` apart once the notice has played out."""

    def __init__(self, clock: FakeClock, digits: str, gap_s: float = 0.25, **kw: Any) -> None:
        super().__init__(clock, **kw)
        self.digits, self.gap_s = digits, gap_s
        self.transfers: list[tuple[str, dict[str, str]]] = []
        self.transfer_ok = True
        self.t0 = clock.monotonic()  # when the call was answered

    def said(self) -> list[Any]:
        return list(self._timeline)

    async def keypad(self, session: CallSession, clock: FakeClock) -> None:
        while not (session.caller.payment.active and len(self.spans) >= 2):
            await clock.sleep(0.05)  # the greeting, then the notice
        while self.agent_audio_playing:
            await clock.sleep(0.05)
        for digit in self.digits:
            self.press(digit)
            await clock.sleep(self.gap_s)

    async def transfer(self, uri: str, headers: dict[str, str] | None = None, within: float = 20):
        self.transfers.append((uri, dict(headers or {})))
        reason = "answered" if self.transfer_ok else "refused"
        return type("Result", (), {"ok": self.transfer_ok, "reason": reason})


async def paying_call(
    clock: FakeClock, repo: CallRepository, policy: PciPolicy, lines: list[str], call: PayingCall
) -> tuple[CallSession, RecordingStt, FakeLlm, list[float]]:
    stt = RecordingStt(clock, lines)
    llm = FakeLlm(clock, ["Sure.", "Happy to help."])
    deps, _ = await session_deps(clock, repo, stt, llm)
    deps = dataclasses.replace(deps, pci=policy)
    await clock.run(deps.cache.prepare(deps.tts, pci_prompts(policy)))
    session = CallSession(call, deps)
    window: list[float] = []

    async def run() -> str:
        import asyncio

        keys = asyncio.ensure_future(call.keypad(session, clock))
        watch = asyncio.ensure_future(_watch(session, clock, window))
        call.t0 = clock.monotonic()  # frames() counts the caller's timeline from here
        try:
            return await session.run()
        finally:
            keys.cancel()
            watch.cancel()
            await asyncio.gather(keys, watch, return_exceptions=True)

    outcome = await clock.run(run())
    assert outcome == "completed", [(e.kind, e.code) for e in session.events]
    return session, stt, llm, window


async def _watch(session: CallSession, clock: FakeClock, window: list[float]) -> None:
    """Record the monotonic start and end of payment mode."""
    while not session.caller.payment.active:
        await clock.sleep(0.01)
    window.append(clock.monotonic())
    while session.caller.payment.active:
        await clock.sleep(0.01)
    window.append(clock.monotonic())


COLLECT = PciPolicy(Pci(enabled=True, mode="collect", expected_digits=16, timeout_s=60.0))


async def test_collect_mode_counts_digits_and_hears_nothing(repo, clock) -> None:
    # the caller asks to pay, then speaks the card number aloud while keying it in
    call = PayingCall(clock, CARD, answers=4, answer_s=2.0)
    lines = ["I want to pay my bill.", "What time do you open?", "Goodbye."]
    session, stt, llm, window = await paying_call(clock, repo, COLLECT, lines, call)

    assert "pci-pause-start" in kinds(session) and "pci-pause-end" in kinds(session)
    start, end = window
    # the caller spoke during payment mode (frames are 20 ms late at most)
    assert any(start <= call.t0 + s.at and call.t0 + s.at + s.seconds <= end for s in call.said())
    # the speech during payment mode never reached the VAD/STT: no utterance overlaps it
    assert all(s_end < start or s_start > end for s_start, s_end in stt.spans), (stt.spans, window)
    assert stt.calls == 3  # the trigger, the question after the pause, goodbye
    # the trigger turn was not sent to the LLM; the question after the pause was
    users = [m.content for r in llm.requests for m in r if m.role == "user"]
    assert users == ["What time do you open?"]
    ended = next(e for e in session.events if e.kind == "pci-pause-end")
    assert ended.code == "complete:16-digits" and session.caller.payment.count == 16
    events = [(e.kind, e.code) for e in repo.events("fake-call")]
    assert ("pci-pause-start", "collect") in events
    assert ("pci-pause-end", "complete:16-digits") in events
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert COLLECT.notice in said and COLLECT.done in said


async def test_end_key_and_timeout_end_payment_mode(repo, clock) -> None:
    call = PayingCall(clock, "1234#", answers=3)
    session, *_ = await paying_call(clock, repo, COLLECT, ["pay by card please", "bye"], call)
    ended = next(e for e in session.events if e.kind == "pci-pause-end")
    assert ended.code == "end-key:4-digits"

    short = PciPolicy(msgspec.structs.replace(COLLECT.settings, timeout_s=5.0))
    call = PayingCall(clock, "", answers=3)
    call.call_id = "fake-call-2"  # type: ignore[assignment]
    session, *_ = await paying_call(clock, repo, short, ["credit card", "bye"], call)
    ended = next(e for e in session.events if e.kind == "pci-pause-end")
    assert ended.code == "timeout:0-digits"
    said = [t.text for t in repo.turns("fake-call-2") if t.speaker == "agent"]
    assert short.failed in said  # no digits: the caller is told how else to pay


@pytest.mark.parametrize("ok", [True, False])
async def test_transfer_mode_hands_the_call_to_the_payment_ivr(repo, clock, ok: bool) -> None:
    policy = PciPolicy(Pci(enabled=True, mode="transfer", ivr_uri="sip:pay@127.0.0.1"))
    call = PayingCall(clock, "", answers=3)
    call.transfer_ok = ok
    session, _, llm, _ = await paying_call(clock, repo, policy, ["make a payment", "bye"], call)
    assert call.transfers == [
        (
            "sip:pay@127.0.0.1",
            {"X-Appliance-Call": "fake-call", "X-Appliance-Reason": "pci-payment"},
        )
    ]
    ended = next(e for e in session.events if e.kind == "pci-pause-end")
    assert ended.code == ("transferred:0-digits" if ok else "transfer-refused:0-digits")
    assert llm.requests == []
    assert not session.caller.payment.active


def test_triggers_are_whole_phrases_and_off_when_disabled() -> None:
    assert COLLECT.triggered("Hi, I'd like to PAY MY BILL, please.")
    assert COLLECT.triggered("can I pay by card")
    assert not COLLECT.triggered("I want to pay my billing office a visit")
    assert PciPolicy().triggered("pay my bill")  # on by default (the clinic agent's default)
    assert not PciPolicy(Pci(enabled=False)).triggered("pay my bill")
    custom = PciPolicy(Pci(enabled=True, mode="collect", triggers=["Settle Invoice"]))
    assert custom.triggered("I'd like to settle invoice 12") and not custom.triggered("pay my bill")


def test_digits_outside_payment_mode_are_dropped(clock) -> None:
    pause = PaymentPause(COLLECT, clock)
    pause.key("5")
    assert pause.count == 0 and pause.ignored == 1
    pause.start()
    for digit in "12345":
        pause.key(digit)
    assert pause.count == 5 and pause.end() == 5 and not pause.active
    assert not any(isinstance(v, str) and v.isdigit() for v in vars(pause).values())


def test_listening_resumes_only_after_the_caller_is_quiet(clock) -> None:
    from tests.fakes import FRAME, tone

    pause = PaymentPause(COLLECT, clock)
    voice, quiet = tone(20), AudioChunk(FRAME, 16_000)
    assert not pause.drops(voice)  # normal listening
    pause.start()
    assert pause.drops(quiet) and pause.drops(voice)
    pause.end()
    assert all(pause.drops(voice) for _ in range(50))  # still speaking the card number
    assert all(pause.drops(quiet) for _ in range(29))  # 0.58 s of quiet: not yet
    assert pause.drops(quiet) and not pause.drops(voice)  # 0.6 s: listening again
    pause.start()
    pause.end()
    assert all(pause.drops(voice) for _ in range(250))  # 5 s
    assert not pause.drops(voice)  # a noisy line: listening resumes after 5 s anyway


@pytest.mark.parametrize(
    "toml",
    [
        '[pci]\nenabled = true\nmode = "transfer"\n',  # no ivr_uri
        '[pci]\nmode = "passthrough"\n',
        "[pci]\nexpected_digits = 0\n",
        '[pci]\nend_key = "##"\n',
        '[consent]\nrecording = "always"\n',
    ],
)
def test_bad_pci_and_consent_settings_are_coded_errors(tmp_path, toml: str) -> None:
    from appliance.config import load_settings
    from appliance.errors import ConfigError

    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.code == "config-invalid"


async def test_sip_calls_deliver_keypad_digits_to_the_pause(clock) -> None:
    import asyncio

    from appliance.sip.call import PjsipCall

    call = PjsipCall(asyncio.get_running_loop(), "inbound")
    pause = PaymentPause(COLLECT, clock)
    pause.start()
    consumer = asyncio.create_task(pause.consume(call))
    for digit in "4929":
        call.sip_dtmf(digit, 100, "rfc4733")  # as the endpoint thread reports them
    await asyncio.sleep(0.01)
    call.set_ended(True, 200, "remote-hangup")
    await asyncio.wait_for(consumer, 2)  # ends with the call
    assert pause.count == 4

"""Fixed prompts: every `Prompt` has audio before the agent takes a call, or it does not start.

A misspelt or missing prompt key must never play silence while the store records the
prompt's text as spoken.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

import appliance.services.agent
import appliance.services.runtime
from appliance.__main__ import main
from appliance.audio import AudioChunk
from appliance.conversation.flows.payment import pci_prompts
from appliance.conversation.prompts import Prompt as P
from appliance.conversation.prompts import PromptCache, PromptError, clinic_prompts
from appliance.conversation.session import CallSession
from appliance.errors import TelephonyError
from appliance.governance.pci import PciPolicy
from tests.fakes import FakeCall, FakeLlm, FakeStt, session_deps

pytestmark = pytest.mark.unit

PROMPTS = clinic_prompts("Test Clinic", "weekdays 8 to 5")
TEXTS = PromptCache.for_prompts(PROMPTS)  # every Prompt's text


class Tts:
    """Instant TTS: 10 ms of audio per text, none for `silent`."""

    rate = 16000

    def __init__(self, silent: str | None = None) -> None:
        self.silent = silent
        self.texts: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        if text != self.silent:
            yield AudioChunk(b"\x01\x00" * 160, self.rate)


def without(prompt: P) -> dict[P, str]:
    return {k: v for k, v in TEXTS.items() if k != prompt}


async def test_every_prompt_has_text_and_audio() -> None:
    assert set(TEXTS) == set(P) and all(t.strip() for t in TEXTS.values())
    pci = pci_prompts(PciPolicy())  # the PCI pause's texts are its defaults
    assert {k: TEXTS[k] for k in pci} == pci
    cache = PromptCache()
    await cache.prepare(Tts(), TEXTS)
    assert all(cache.get(p) for p in P)


async def test_prepare_refuses_a_missing_prompt_and_keeps_nothing() -> None:
    cache = PromptCache()
    with pytest.raises(PromptError) as err:
        await cache.prepare(Tts(), without(P.HOLD))
    assert err.value.code == "prompt-missing" and "hold" in err.value.message
    with pytest.raises(PromptError):
        cache.get(P.GREETING)  # nothing half-prepared is kept


async def test_a_later_prepare_replaces_some_prompts() -> None:
    cache = PromptCache()
    await cache.prepare(Tts(), TEXTS)
    policy = PciPolicy(notice="Please type your card number now.")
    tts = Tts()
    await cache.prepare(tts, pci_prompts(policy))
    assert tts.texts == [policy.notice, policy.done, policy.failed]


@pytest.mark.parametrize(
    ("texts", "tts", "code"),
    [
        ({**TEXTS, P.GOODBYE: "  "}, Tts(), "prompt-empty"),
        (TEXTS, Tts(silent=PROMPTS.goodbye), "prompt-empty"),
        ({**TEXTS, "goodby": "Bye."}, Tts(), "prompt-unknown"),
    ],
)
async def test_prepare_refuses_a_prompt_without_text_or_audio(texts, tts, code) -> None:
    with pytest.raises(PromptError) as err:
        await PromptCache().prepare(tts, texts)
    assert err.value.code == code and err.value.stage == "prompts"


async def test_get_of_an_absent_key_raises_instead_of_returning_silence() -> None:
    cache = PromptCache()
    with pytest.raises(PromptError) as err:
        cache.get(P.GOODBYE)
    assert err.value.code == "prompt-missing"
    await cache.prepare(Tts(), TEXTS)
    with pytest.raises(PromptError):
        cache.get("goodby")  # type: ignore[arg-type]  # a typo mypy would catch


class Missing(PromptCache):
    """A cache that lost one prompt after start-up (start-up makes this impossible)."""

    def __init__(self, base: PromptCache, lost: P) -> None:
        super().__init__()
        self._base, self._lost = base, lost

    def get(self, key: P) -> list[AudioChunk]:
        return super().get(key) if key == self._lost else self._base.get(key)

    def text(self, key: P) -> str:
        return super().text(key) if key == self._lost else self._base.text(key)


async def test_a_prompt_without_audio_is_never_recorded_as_spoken(repo, clock) -> None:
    stt, llm = FakeStt(clock, ["Thanks, goodbye."]), FakeLlm(clock, [])
    deps, observed = await session_deps(clock, repo, stt, llm)
    goodbye, apology = deps.cache.text(P.GOODBYE), deps.cache.text(P.APOLOGY)
    deps = dataclasses.replace(deps, cache=Missing(deps.cache, P.GOODBYE))
    assert await clock.run(CallSession(FakeCall(clock, answers=1), deps).run()) == "failed"
    said = [t.text for t in repo.turns("fake-call") if t.speaker == "agent"]
    assert goodbye not in said and said[-1] == apology
    assert observed.failures == [("prompts", "prompt-missing")]


class Telephony:
    """Stands in for the SIP endpoint: counts how often the agent got that far."""

    made = 0

    def __init__(self, *args: Any, **options: Any) -> None:
        Telephony.made += 1

    async def start(self, handle: Any) -> None:
        raise TelephonyError("sip-stub", "the test stops here")

    async def stop(self) -> None:
        pass


class Db:
    def close(self) -> None:
        pass

    def query(self, fn: Any, *args: Any) -> list[Any]:
        return []  # no approved KB versions


class Calls:
    """The call repository: no call was left open by a previous process."""

    def close_orphans(self, at: float) -> list[str]:
        return []


@pytest.mark.parametrize(
    ("lost", "silent", "code", "made"),
    [
        (P.NO_TRANSFER, None, "prompt-missing", 0),
        (None, PROMPTS.hold, "prompt-empty", 0),
        (None, None, "sip-stub", 1),  # all prompts: the agent gets as far as SIP
    ],
)
def test_the_agent_does_not_start_with_a_missing_prompt(
    monkeypatch, capsys, lost, silent, code, made
) -> None:
    """`appliance agent` exits with the coded error before its SIP endpoint exists."""
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    if lost is not None:  # e.g. a new Prompt that for_prompts does not know yet
        monkeypatch.setattr(PromptCache, "for_prompts", staticmethod(lambda p: without(lost)))
    tts = Tts(silent)

    async def speech(settings: Any) -> tuple[object, Tts]:
        return SimpleNamespace(device="cpu", fallback=None), tts

    monkeypatch.setattr(appliance.services.runtime, "load_speech", speech)
    for name, stub in [
        ("configure_logging", lambda level: None),
        ("install_signal_handlers", lambda stop: None),
        ("require_models", lambda *a: None),
        ("open_store", lambda settings, worker=None: (Db(), Calls())),
        ("llm_api_key", lambda settings: "k"),
        ("PjsipTelephony", Telephony),
    ]:
        monkeypatch.setattr(appliance.services.agent, name, stub)
    Telephony.made = 0
    assert main(["agent"]) == 2  # the process exits with the coded error
    assert f"error {code}" in capsys.readouterr().err
    assert Telephony.made == made  # 0: stopped before the SIP endpoint existed
    assert tts.texts  # the prompts were being prepared

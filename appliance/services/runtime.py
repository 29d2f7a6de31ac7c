"""Composition root: real adapters from settings, signals, readiness.

`appliance run` starts everything in one process tree on loopback (development);
production splits the same parts into systemd units (agent, admin, llm).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.artifacts.model_files import model_dir
from appliance.config import Settings
from appliance.conversation.prompts import PromptCache, clinic_prompts
from appliance.conversation.session import CallSession, SessionDeps
from appliance.conversation.turn_taking import TurnPolicy
from appliance.domain import ChatMessage
from appliance.governance.config_audit import audit_config
from appliance.governance.consent import consent_policy
from appliance.governance.pci import pci_policy
from appliance.llm.client import OpenAIChatModel
from appliance.llm.server import MODEL_ALIAS, LlmServerProcess
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.ports import CallHandle, ChatModel
from appliance.speech.stt import WhisperStt
from appliance.speech.tts import PiperTts
from appliance.speech.vad import SileroTurnDetector
from appliance.speech.vad import warm_up as warm_up_vad
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.store.keys import load_key

logger = logging.getLogger(__name__)


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class MetricsObserver:
    """SessionObserver that feeds Prometheus (label values are checked codes)."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def call_started(self) -> None:
        self._m.call_started()

    def call_ended(self, outcome: str) -> None:
        self._m.call_ended(outcome)

    def stage_time(self, stage: str, seconds: float) -> None:
        self._m.observe_stage(stage, seconds)
        if stage == "turn_gap":
            self._m.turns_total.inc()

    def stage_failed(self, stage: str, code: str) -> None:
        self._m.stage_failed(stage, code)


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) about readiness; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


@dataclass(slots=True)
class Agent:
    """The speech + agent parts shared by all calls."""

    deps: SessionDeps
    new_chat: Callable[[], ChatModel] | None = None  # per-call agent (workflows), if any
    calls: int = 0

    async def handle(self, call: CallHandle) -> None:
        self.calls += 1
        deps = self.deps
        if self.new_chat is not None:
            deps = dataclasses.replace(deps, llm=self.new_chat())
        await CallSession(call, deps).run()


LLM_CREDENTIAL = "llm.key"


def llm_api_key(settings: Settings) -> str:
    """The LLM server's API key: systemd credential `llm.key`, else the key file (dev: made)."""
    return load_key(LLM_CREDENTIAL, settings.path(settings.llm.api_key_file), create=True).hex


def open_store(settings: Settings) -> tuple[Database, CallRepository]:
    """Keys from systemd credentials or key files (dev files made 0400 on first use).

    The effective configuration's hash is audited (`config.loaded`, and `config.changed`
    when it differs from the last one: appliance/governance/config_audit.py)."""
    db = open_database(settings, create=True)
    try:
        audit_config(db, settings)
    except BaseException:
        db.close()
        raise
    return db, CallRepository(db)


async def load_speech(settings: Settings) -> tuple[WhisperStt, PiperTts]:
    models = settings.models_dir
    stt_task = asyncio.to_thread(
        WhisperStt.load, model_dir(models, settings.stt.model), settings.stt, settings.clinic.name
    )
    tts_task = asyncio.to_thread(
        PiperTts.load, model_dir(models, settings.tts.voice), settings.tts.voice
    )
    stt, tts = await asyncio.gather(stt_task, tts_task)
    await asyncio.to_thread(stt.warm_up)
    await asyncio.to_thread(warm_up_vad)
    return stt, tts


async def build_agent(
    settings: Settings,
    repo: CallRepository,
    metrics: Metrics,
    health: Health,
    api_key: str,
    db: Database | None = None,
) -> tuple[Agent, OpenAIChatModel]:
    stt, tts = await load_speech(settings)
    health.set("stt", True, settings.stt.model)
    health.set("tts", True, settings.tts.voice)
    c = settings.clinic
    prompts = clinic_prompts(c.name, c.front_desk_hours, c.facts)
    pci = pci_policy(settings.pci)
    cache = PromptCache()  # every Prompt, or a coded PromptError: before the first call
    await cache.prepare(tts, {**PromptCache.for_prompts(prompts), **pci.prompts()})
    llm = OpenAIChatModel(
        settings.llm.base_url,
        api_key,
        MODEL_ALIAS if settings.llm.server.enabled else settings.llm.model,
        timeout_s=settings.llm.timeout_s,
        max_tokens=settings.llm.max_tokens,
        temperature=settings.llm.temperature,
    )
    deps = SessionDeps(
        stt=stt,
        tts=tts,
        llm=llm,
        new_detector=lambda: SileroTurnDetector(settings.vad),
        recorder=repo,
        prompts=prompts,
        cache=cache,
        observer=MetricsObserver(metrics),
        clock=SystemClock(),
        policy=turn_policy(settings),
        front_desk_uri=settings.workflows.front_desk_uri,
        transfer_mode=settings.workflows.transfer_mode,
        whisper=settings.workflows.whisper,
        pci=pci,
        consent=consent_policy(settings.consent),
    )
    new_chat = None
    if settings.workflows.enabled and db is not None:
        from appliance.workflows.factory import workflow_chats

        new_chat = workflow_chats(settings, db, llm)
    return Agent(deps, new_chat), llm


def turn_policy(settings: Settings) -> TurnPolicy:
    c = settings.conversation
    return TurnPolicy(
        barge_in=c.barge_in,
        barge_in_min_speech_s=c.barge_in_min_speech_s,
        barge_in_pause_s=c.barge_in_pause_s,
        barge_in_resume_s=c.barge_in_resume_s,
        early_end=settings.vad.early_end_of_turn and settings.vad.early_stt_ms > 0,
        voiced_threshold=settings.vad.threshold,
        backchannel_max_words=c.backchannel_max_words,
        filler_after_s=c.filler_after_s,
        filler_every_s=c.filler_every_s,
        reprompt_after_s=c.reprompt_after_s,
        max_reprompts=c.max_reprompts,
    )


async def warm_up_llm(llm: OpenAIChatModel, system_prompt: str) -> None:
    """One short request so the server has the system prompt cached before the first call."""
    messages = [ChatMessage("system", system_prompt), ChatMessage("user", "Hello.")]
    async for _ in llm.stream(messages):
        pass


def llm_server(settings: Settings, api_key: str) -> LlmServerProcess:
    cfg = settings.llm.server
    gguf = model_dir(settings.models_dir, cfg.model) / "model.gguf"
    var = settings.var_dir
    return LlmServerProcess(cfg, gguf, api_key, var / "run", var / "log" / "llm-server.log")


async def watchdog(stop: asyncio.Event) -> None:
    """Ping systemd's watchdog (WatchdogSec=) at half its interval until `stop`."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return
    interval = int(usec) / 2_000_000
    while not stop.is_set():
        sd_notify("WATCHDOG=1")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def ensure_dirs(var_dir: Path) -> None:
    for sub in ("", "log", "run", "keys"):
        (var_dir / sub).mkdir(parents=True, exist_ok=True, mode=0o700)

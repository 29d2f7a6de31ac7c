"""Composition root of the agent: real adapters from settings (process lifecycle: lifecycle.py).

`appliance run` starts everything in one process tree on loopback (development);
production splits the same parts into systemd units (agent, admin, llm).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.artifacts.model_files import model_dir
from appliance.config import Settings
from appliance.conversation.audio_keep import AudioSampling
from appliance.conversation.flows.payment import pci_prompts
from appliance.conversation.prompts import PromptCache, clinic_prompts
from appliance.conversation.session import CallSession, SessionDeps, TransferPolicy
from appliance.demo.config import front_desk_uri
from appliance.domain import ChatMessage
from appliance.errors import ConfigError
from appliance.governance.consent import ConsentPolicy
from appliance.governance.pci import PciPolicy
from appliance.llm.agent import LlmAgent
from appliance.llm.client import OpenAIChatModel
from appliance.llm.server import MODEL_ALIAS, LlmServerProcess
from appliance.llm.understanding import LlmIntents
from appliance.observability.call_trace import AgentInfo
from appliance.observability.health import Health
from appliance.observability.metrics import Metrics
from appliance.ports import AgentPlane, CallHandle
from appliance.quality.audio_sample import AudioSamplePolicy
from appliance.quality.audio_store import StoredAudio
from appliance.services.traces import StoredTraces
from appliance.speech.stt import WhisperStt
from appliance.speech.tts import PiperTts
from appliance.speech.vad import SileroTurnDetector
from appliance.speech.vad import warm_up as warm_up_vad
from appliance.store.bootstrap import audit_key
from appliance.store.calls import CallRepository
from appliance.store.db import Connection, Database
from appliance.store.pseudonyms import caller_hash, caller_hash_key

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


@dataclass(slots=True)
class Agent:
    """The speech + agent parts shared by all calls; a new agent plane for each call."""

    deps: SessionDeps
    new_agent: Callable[[], AgentPlane]  # the clinic agent, or free-LLM mode
    calls: int = 0

    async def handle(self, call: CallHandle) -> None:
        self.calls += 1
        deps = dataclasses.replace(self.deps, agent=self.new_agent())
        await CallSession(call, deps).run()


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


def report_speech(stt: WhisperStt, settings: Settings, metrics: Metrics, health: Health) -> None:
    """The speech components in health; a CPU fallback of STT counted and shown there."""
    detail = f"{settings.stt.model} on {stt.device}"
    if stt.fallback is not None:
        metrics.stt_fell_back(stt.fallback)
        detail += f" ({stt.fallback}: [stt] device {settings.stt.device} did not load)"
    health.set("stt", True, detail)
    health.set("tts", True, settings.tts.voice)


async def build_agent(
    settings: Settings,
    repo: CallRepository,
    metrics: Metrics,
    health: Health,
    api_key: str,
    db: Database | None = None,
) -> tuple[Agent, OpenAIChatModel]:
    stt, tts = await load_speech(settings)
    report_speech(stt, settings, metrics, health)
    c = settings.clinic
    prompts = clinic_prompts(c.name, c.front_desk_hours, c.facts, settings.quality.audio_sample)
    pci = PciPolicy(settings.pci)
    cache = PromptCache()  # every Prompt, or a coded PromptError: before the first call
    await cache.prepare(tts, {**PromptCache.for_prompts(prompts), **pci_prompts(pci)})
    llm = OpenAIChatModel(
        settings.llm.base_url,
        api_key,
        MODEL_ALIAS if settings.llm.server.enabled else settings.llm.model,
        timeout_s=settings.llm.timeout_s,
        max_tokens=settings.llm.max_tokens,
        temperature=settings.llm.temperature,
    )
    if not settings.workflows.enabled:
        await refuse_free_llm_with_phi(db)
    new_agent = agent_planes(settings, llm, prompts.system, db)
    wf = settings.workflows
    deps = SessionDeps(
        stt=stt,
        tts=tts,
        agent=new_agent(),
        new_detector=lambda: SileroTurnDetector(settings.vad),
        recorder=repo,
        cache=cache,
        observer=MetricsObserver(metrics),
        clock=SystemClock(),
        conversation=settings.conversation,
        vad=settings.vad,
        transfer=TransferPolicy(front_desk_uri(settings), wf.transfer_mode, wf.whisper),
        pci=pci,
        consent=ConsentPolicy(settings.consent),
        caller_hash=caller_hasher(settings) if db is not None else None,
        tracer=StoredTraces(db, agent_info(settings)) if db is not None else None,
        audio_sample=audio_sampling(settings, db),
    )
    return Agent(deps, new_agent), llm


def audio_sampling(settings: Settings, db: Database | None) -> AudioSampling | None:
    """The quality sample of caller audio ([quality] audio_sample), None while off."""
    policy = AudioSamplePolicy.from_settings(settings.quality)
    if policy is None or db is None:
        return None
    return AudioSampling(policy, StoredAudio(db))


def agent_info(settings: Settings) -> AgentInfo:
    """What answers calls, for the traces: the clinic workflows or the free LLM."""
    if settings.workflows.enabled:
        return AgentInfo("workflows", "")
    return AgentInfo(
        "llm", settings.llm.server.model if settings.llm.server.enabled else settings.llm.model
    )


def caller_hasher(settings: Settings) -> Callable[[str], str]:
    """The keyed hash of a caller's number (the key: from the audit signing key, which
    opening the store made sure of)."""
    return functools.partial(caller_hash, caller_hash_key(audit_key(settings)))


async def refuse_free_llm_with_phi(db: Database | None) -> None:
    """Free-LLM mode is a non-clinical demo: never on a store that holds patients."""
    if db is not None and await db.run_query(_holds_patients):
        raise ConfigError(
            "free-llm-with-phi",
            "[workflows] enabled = false (free-LLM demo mode) on a store with patients",
        )
    logger.warning("free-LLM demo mode: not for patients", extra={"code": "free-llm-mode"})


def _holds_patients(conn: Connection) -> bool:
    return conn.execute("SELECT 1 FROM patients LIMIT 1").fetchone() is not None


def agent_planes(
    settings: Settings, llm: OpenAIChatModel, system_prompt: str, db: Database | None
) -> Callable[[], AgentPlane]:
    """A factory of the agent plane, one per call: the clinic agent (the workflows, the
    default), or the free-LLM demo mode when `[workflows] enabled = false`."""
    if settings.workflows.enabled:
        if db is None:
            raise ConfigError("workflows-need-store", "the clinic workflows need the store")
        from appliance.workflows.factory import clinic_agents

        return clinic_agents(settings, db, llm)
    return lambda: LlmAgent(llm, system_prompt)


async def warm_up_llm(llm: OpenAIChatModel, settings: Settings, system_prompt: str) -> None:
    """One short request so the server has the prompt the calls will send evaluated and
    cached before the first call: the intent prompt of the clinic agent, or free-LLM
    mode's system prompt."""
    if settings.workflows.enabled:
        intents = LlmIntents(llm, settings.workflows.structured_output, timeout_s=None)
        await intents.intent("Hello.")
        return
    messages = [ChatMessage("system", system_prompt), ChatMessage("user", "Hello.")]
    async for _ in llm.stream(messages):
        pass


def llm_server(settings: Settings, api_key: str) -> LlmServerProcess:
    cfg = settings.llm.server
    gguf = model_dir(settings.models_dir, cfg.model) / "model.gguf"
    var = settings.var_dir
    return LlmServerProcess(cfg, gguf, api_key, var / "run", var / "log" / "llm-server.log")

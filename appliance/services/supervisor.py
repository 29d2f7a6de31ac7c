"""`appliance run`: the whole appliance as one process tree on loopback (development).

Children: the CPU LLM engine, N agent workers (pjsua2 holds 4 calls per process), and
the Kamailio SIP edge on the public SIP address. Start order: store and admin first (so
/healthz reports progress), LLM and workers in parallel, the edge last, so no call is
accepted before an agent can speak. Ctrl-C / SIGTERM drains: the edge refuses new calls,
the workers let calls in progress finish until `sip.drain_s` and then end them, then the
edge, the LLM engine and the admin app stop. The INVITEs the edge refused are read from
Kamailio as the edge unit reads them (appliance/edge/refusals.py), served on /metrics as
the admin serves the edge's beacon, and stored per day (appliance/governance/edge_refusals.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import time
from pathlib import Path
from typing import Any

from appliance.admin.app import create_app
from appliance.admin.screenpop import ScreenPop
from appliance.admin.server import AdminServer
from appliance.admin.standalone import admin_endpoint
from appliance.artifacts.model_check import require_configured
from appliance.config import Settings
from appliance.console.service import Console
from appliance.conversation.prompts import clinic_prompts
from appliance.demo.config import desk_uri, front_desk_uri, screenpop_url
from appliance.demo.seed import seed_configured
from appliance.edge.kamailio import SipEdge, options_ping
from appliance.edge.refusals import refusal_samples
from appliance.errors import ApplianceError, TelephonyError
from appliance.governance.audit_anchor import (
    AnchorExporter,
    anchor_periodically,
    export_logged,
    exporter_for,
)
from appliance.governance.edge_refusals import edge_refusals_job, record_samples
from appliance.governance.enforce_job import enforce_job
from appliance.governance.retention import RetentionPolicy
from appliance.governance.retention_job import purge_periodically
from appliance.llm.client import OpenAIChatModel
from appliance.llm.judge_model import judge_model_from_settings
from appliance.llm.server import MODEL_ALIAS, LlmServerProcess
from appliance.observability.beacon_board import HeldSamples
from appliance.observability.health import Health
from appliance.observability.logs import configure_logging
from appliance.observability.metrics import Metrics
from appliance.quality.evaluators import evaluators_for
from appliance.quality.kpi_metrics import kpi_job
from appliance.quality.schedule_jobs import schedule_job
from appliance.quality.scorer import scoring_job
from appliance.quality.wer_metrics import wer_job
from appliance.services.app_db import open_store
from appliance.services.children import NotifySocket, spawn, terminate
from appliance.services.demo_desk import DemoDeskChild
from appliance.services.lifecycle import ensure_dirs, install_signal_handlers, sd_notify, watchdog
from appliance.services.runtime import llm_server, warm_up_llm
from appliance.store.bootstrap import llm_api_key
from appliance.store.calls import CallRepository
from appliance.store.db import Database

logger = logging.getLogger(__name__)
WORKER_START_S = 240.0  # s for a worker to load its models and listen
RESTART_BACKOFF_S = 5.0  # s before a crashed worker is started again
WORKER_STOP_S = 20.0  # s for a worker to hang up and exit after its drain deadline


class Worker:
    def __init__(self, index: int, config: Path | None, run_dir: Path, log_dir: Path) -> None:
        self.index = index
        self._config = config
        self._run_dir = run_dir
        self._log = log_dir / f"agent-{index}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.notify: NotifySocket | None = None

    @property
    def name(self) -> str:
        return f"agent-{self.index}"

    async def start(self) -> None:
        if self.notify is not None:
            self.notify.close()
        self.notify = NotifySocket(self._run_dir / f"notify-{self.name}.sock")
        config = ["--config", str(self._config)] if self._config else []
        argv = [sys.executable, "-m", "appliance", *config, "agent", "--worker", str(self.index)]
        self.proc = await spawn(argv, self._log, self.notify.env())
        ready = asyncio.create_task(self.notify.ready.wait())
        exited = asyncio.create_task(self.proc.wait())
        await asyncio.wait(
            {ready, exited}, timeout=WORKER_START_S, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        exited.cancel()
        if not self.ready:
            raise TelephonyError(
                "agent-start-failed", f"{self.name} did not start; see {self._log}"
            )

    @property
    def ready(self) -> bool:
        alive = self.proc is not None and self.proc.returncode is None
        return alive and self.notify is not None and self.notify.ready.is_set()

    async def stop(self, grace_s: float = 20.0) -> None:
        if self.proc is not None:
            await terminate(self.proc, grace_s=grace_s)
        if self.notify is not None:
            self.notify.close()
            self.notify = None


def banner(settings: Settings) -> str:
    sip, admin = settings.sip, f"{settings.admin.host}:{settings.admin.port}"
    web = "https" if settings.admin.tls_cert_file else "http"
    target = f"sip:clinic@{sip.host}:{sip.port}"
    return "\n".join(
        [
            "",
            f"  {settings.clinic.name}: voice agent ready",
            f"  Call:    {target}  ({'/'.join(sip.transports).upper()}; "
            f"{sip.workers} agent workers x {sip.max_calls} calls)",
            f"  Health:  {web}://{admin}/healthz    Metrics: {web}://{admin}/metrics",
            f"  Test:    .venv/bin/appliance call {target} --say 'What are your opening hours?'",
            *demo_lines(settings),
            "  Stop:    Ctrl-C",
            "",
        ]
    )


def demo_lines(settings: Settings) -> list[str]:
    """The banner's lines about the demo clinic and desk (README, "The demo clinic")."""
    demo, lines = settings.demo, []
    if demo.clinic:
        lines.append(
            "  Demo:    the synthetic demo clinic ([demo] clinic; README: The demo clinic)"
        )
    if demo.front_desk:
        target = "transfers go here" if front_desk_uri(settings) == desk_uri(settings) else "idle"
        lines.append(f"  Desk:    {desk_uri(settings)} (the demo front desk: {target})")
        key = settings.admin.screenpop_key_file or str(settings.var_dir / "keys" / "screenpop.key")
        console = screenpop_url(settings).replace("/screenpop/", "/console/screenpop")
        lines.append(f"  Screen-pop: {console} (a front-desk console user: appliance users add)")
        lines.append(
            f"             {screenpop_url(settings)} for tools on this host (token: {key})"
        )
    return lines


class Supervisor:
    def __init__(self, settings: Settings, config: Path | None) -> None:
        self.s, self.config = settings, config
        var = settings.var_dir
        self.health, self.metrics = Health(), Metrics()
        self.stop = asyncio.Event()
        self.workers = [
            Worker(i, config, var / "run", var / "log") for i in range(settings.sip.workers)
        ]
        self.edge = SipEdge(settings, var / "run", var / "log" / "sip-edge.log", self.health)
        self.edge_samples = HeldSamples("sip-edge")  # its refusals, as its beacon would carry
        self.metrics.add_collector(self.edge_samples)
        self.llm_proc: LlmServerProcess | None = None
        self.desk = DemoDeskChild(settings, config) if settings.demo.front_desk else None
        self.stopping = False
        c = settings.clinic
        self.prompts = clinic_prompts(
            c.name, c.front_desk_hours, c.facts, settings.quality.audio_sample
        )

    def llm_client(self, api_key: str) -> OpenAIChatModel:
        llm = self.s.llm
        return OpenAIChatModel(
            llm.base_url,
            api_key,
            MODEL_ALIAS,
            timeout_s=llm.timeout_s,
            max_tokens=8,
            temperature=0.0,
        )

    async def start_children(self, api_key: str) -> None:
        if self.s.llm.server.enabled and self.s.llm_used:
            self.llm_proc = llm_server(self.s, api_key)
        starts = [w.start() for w in self.workers]
        if self.llm_proc is not None:
            starts.append(self.llm_proc.start())
        await asyncio.gather(*starts)
        if self.s.llm_used:
            await warm_up_llm(self.llm_client(api_key), self.s, self.prompts.system)
        await self.edge.start()
        for _ in range(100):
            if await options_ping(self.s.sip.host, self.s.sip.port):
                return
            await asyncio.sleep(0.1)
        raise TelephonyError("edge-not-answering", "the SIP edge does not answer OPTIONS")

    async def watch(self, llm: OpenAIChatModel) -> None:
        """Refresh component health; restart a worker that died."""
        while not self.stop.is_set():
            checks = {
                "sip-edge": self.edge.running()
                and await options_ping(self.s.sip.host, self.s.sip.port),
            }
            if self.s.llm_used:
                checks["llm"] = await llm.ready()
            for w in self.workers:
                checks[w.name] = w.ready
                if w.proc is not None and w.proc.returncode is not None and not self.stopping:
                    logger.error(
                        "agent died",
                        extra={"stage": "run", "worker": w.index, "code": w.proc.returncode},
                    )
                    await asyncio.sleep(RESTART_BACKOFF_S)
                    with contextlib.suppress(ApplianceError):
                        await w.start()
            for name, ok in checks.items():
                self.health.set(name, ok, "ok" if ok else "not ready")
                self.metrics.set_component(name, ok)
            await self.check_refusals()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 2.0)

    async def check_refusals(self) -> None:
        """The edge's refusal totals from Kamailio; the last ones stay when it does not answer."""
        refused = await asyncio.to_thread(self.edge.refusals)
        if refused is not None:
            self.edge_samples.hold(refusal_samples(refused, self.edge.started_at))

    async def store_refusals(self, db: Database) -> None:
        """Until `stop`, and once more then: the edge's new refusals into the store per day."""
        await edge_refusals_job(db, self.edge_samples.samples, self.stop, time.time)

    async def shutdown(self) -> None:
        self.stopping = True
        sd_notify("STOPPING=1")
        logger.info("appliance stopping", extra={"stage": "run"})
        # Drain: the edge refuses new INVITEs (503 + Retry-After) but keeps routing the
        # dialogs in progress; each worker lets its calls go on for up to sip.drain_s,
        # then hangs up the rest; the edge stops last, once the BYEs went through it.
        await self.edge.drain()
        grace = self.s.sip.drain_s + WORKER_STOP_S
        desk = [self.desk.stop()] if self.desk is not None else []
        await asyncio.gather(*(w.stop(grace) for w in self.workers), *desk)
        await self.check_refusals()  # the drain's 503s too, before Kamailio's totals go
        await self.edge.stop()
        if self.llm_proc is not None:
            await self.llm_proc.stop()


def _close_interrupted(repo: CallRepository, metrics: Metrics) -> None:
    """Mark the calls a crash left open as interrupted (audited). A worker that dies
    while the appliance runs closes its own calls when it starts again (agent.py)."""
    interrupted = repo.mark_interrupted(time.time())
    metrics.calls_interrupted(len(interrupted))
    if interrupted:
        logger.warning(
            "calls left open were marked interrupted",
            extra={"stage": "run", "count": len(interrupted)},
        )


def _start_jobs(
    settings: Settings,
    sup: Supervisor,
    db: Database,
    anchors: AnchorExporter,
    llm: OpenAIChatModel,
    api_key: str,
) -> list[asyncio.Task[Any]]:
    """The running appliance's background work, each ending when `sup.stop` is set: the
    health watcher (the edge's refusals too), storing those per day, the retention purge,
    audit anchors, post-call scoring, the 24 h KPIs, WER and the automatic demotion of use
    cases."""
    every_s = settings.retention.purge_every_h * 3600.0  # retention per data class
    report = functools.partial(sup.health.set, "audit-anchor")
    policy = RetentionPolicy.from_settings(settings)
    judge = judge_model_from_settings(settings, api_key)  # None without an LLM: judge off
    return [
        asyncio.create_task(sup.watch(llm)),  # health, and the edge's refusals on /metrics
        asyncio.create_task(sup.store_refusals(db)),  # the edge's refusals per day
        asyncio.create_task(purge_periodically(db, policy, every_s, sup.stop)),
        asyncio.create_task(anchor_periodically(anchors, sup.stop, report=report)),
        asyncio.create_task(scoring_job(db, sup.stop, judge, evaluators_for(settings.quality))),
        asyncio.create_task(kpi_job(db, sup.metrics, sup.stop, settings.quality.cost)),  # 24 h KPIs
        asyncio.create_task(wer_job(db, sup.metrics, sup.stop)),  # WER on /metrics
        asyncio.create_task(enforce_job(db, settings.governance, sup.metrics, sup.stop)),
        asyncio.create_task(schedule_job(settings, db, sup.stop, sup.config)),  # weekly
    ]


async def _started(sup: Supervisor, api_key: str) -> bool:
    """Start the demo desk and the children; False when stopped before they were up."""
    if sup.desk is not None:
        await sup.desk.start()  # spawned, not waited for: it never holds up start-up
    starting = asyncio.create_task(sup.start_children(api_key))
    stopped = asyncio.create_task(sup.stop.wait())
    await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return False
    stopped.cancel()
    starting.result()
    return True


async def run(settings: Settings, config: Path | None = None) -> int:
    configure_logging(settings.log.level)
    require_configured(settings)  # every model byte checked before anything starts
    endpoint = admin_endpoint(settings)  # admin-needs-tls before anything starts
    ensure_dirs(settings.var_dir)
    sup = Supervisor(settings, config)
    used = ("llm",) if settings.llm_used else ()
    for name in (*used, "sip-edge", *(w.name for w in sup.workers)):
        sup.health.set(name, False, "starting")
    install_signal_handlers(sup.stop)
    db, repo = open_store(settings)  # creates the key and runs migrations before any worker
    _close_interrupted(repo, sup.metrics)
    seed_configured(db, settings)  # [demo] clinic: an empty schedule gets the demo clinic
    anchors = exporter_for(settings, db)  # audit anchors off the store (docs/security.md)
    sup.health.set("store", True, "sqlcipher")
    api_key = llm_api_key(settings)
    llm = sup.llm_client(api_key)
    app = create_app(
        sup.health,
        sup.metrics,
        repo,
        ScreenPop.from_settings(settings, db),
        Console.from_settings(db, settings),  # on 127.0.0.1:8080/console/ (loopback)
    )
    admin = AdminServer(app, *endpoint)
    try:
        await admin.start()
        if not await _started(sup, api_key):  # Ctrl-C during start-up
            return 0
        jobs = _start_jobs(settings, sup, db, anchors, llm, api_key)
        print(banner(settings), flush=True)
        logger.info("appliance ready", extra={"stage": "run"})
        sd_notify("READY=1")
        jobs.append(asyncio.create_task(watchdog(sup.stop)))
        await sup.stop.wait()
        await asyncio.gather(*jobs)
    finally:
        await sup.shutdown()
        with contextlib.suppress(ApplianceError):  # those of the drain (stored once only)
            await db.run(record_samples, sup.edge_samples.samples(), time.time())
        if anchors.every_s > 0:
            await export_logged(anchors.anchor_now)  # the end, once the workers are gone
        with contextlib.suppress(Exception):
            await admin.stop()
        await llm.close()
        db.close()
        logger.info("appliance stopped", extra={"stage": "run"})
    return 0

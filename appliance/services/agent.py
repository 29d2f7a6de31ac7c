"""`appliance agent`: one agent process (SIP endpoint + speech + call sessions).

Under `appliance run` (or systemd) several workers sit behind the SIP edge, each on its
own loopback port and RTP range (`--worker N`); without `--worker` the process listens
on the configured SIP address itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

import msgspec

from appliance.artifacts.model_check import manifest_path, require_models
from appliance.config import Settings, Sip
from appliance.governance.worker_refusals import WorkerRefusals, flush, worker_refusals_job
from appliance.observability.beacons import BeaconWriter, beacon_dir, publish_periodically
from appliance.observability.health import Health
from appliance.observability.logs import configure_logging
from appliance.observability.metrics import Metrics, forget_dead_processes
from appliance.services.app_db import open_store
from appliance.services.lifecycle import install_signal_handlers, sd_notify, watchdog
from appliance.services.runtime import build_agent
from appliance.sip.endpoint import PjsipTelephony
from appliance.store.bootstrap import llm_api_key
from appliance.store.calls import CRASHED, CallRepository

logger = logging.getLogger(__name__)


def edge_proxy(sip: Sip) -> str:
    """The SIP edge as a worker's outbound proxy (loose route, UDP on loopback)."""
    wildcard = sip.host in ("", "0.0.0.0")  # noqa: S104 (a comparison, not a bind)
    host = "127.0.0.1" if wildcard else sip.host
    return f"sip:{host}:{sip.port};lr"


def worker_sip(settings: Settings, worker: int | None) -> Settings:
    """Settings with the SIP address and RTP range of worker `worker`."""
    if worker is None:
        return settings
    sip = settings.sip
    span = sip.rtp_port_range // max(1, sip.workers)
    sip = msgspec.structs.replace(
        sip,
        outbound_proxy=edge_proxy(sip),  # outgoing calls leave through the edge
        host="127.0.0.1",
        port=sip.worker_port + worker,
        transports=["udp"],
        rtp_port=sip.rtp_port + worker * span,
        rtp_port_range=span,
    )
    return msgspec.structs.replace(settings, sip=sip)


def close_orphans(repo: CallRepository, metrics: Metrics, worker: int | None) -> None:
    """End, audited, the calls this worker's previous process left open when it died
    mid-call (kill -9, OOM, watchdog): before this one takes calls, under `appliance run`
    and under systemd alike; other workers' calls are left alone."""
    closed = repo.close_orphans(time.time())
    metrics.calls_interrupted(len(closed))
    forget_dead_processes()  # their calls in progress are not in progress any more
    if closed:
        logger.warning(
            "calls left open by this worker's previous process were marked interrupted",
            extra={"stage": "agent", "worker": worker, "count": len(closed), "code": CRASHED},
        )


def rejected(metrics: Metrics, refusals: WorkerRefusals, status: int) -> None:
    """An inbound call this worker refused (SIP thread): on /metrics and in the tally."""
    metrics.call_rejected(status)
    refusals.add(status)


async def run_agent(settings: Settings, worker: int | None) -> int:
    configure_logging(settings.log.level)
    # refuse to start on a model file that does not match the manifest (coded ModelError)
    speech = [settings.stt.model, settings.tts.voice]
    require_models(manifest_path(settings), settings.models_dir, speech)
    settings = worker_sip(settings, worker)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    metrics, health = Metrics(), Health()
    db, repo = open_store(settings, worker)
    api_key = llm_api_key(settings)
    telephony: PjsipTelephony | None = None
    llm = None
    name = f"agent-{worker if worker is not None else 0}"
    health.set(name, False, "starting")
    beacon = BeaconWriter(beacon_dir(settings.var_dir), name, health, prefix=True)
    publisher = asyncio.create_task(publish_periodically(beacon, stop))
    refusals = WorkerRefusals()  # the calls it refuses, stored per day for the report
    storing = asyncio.create_task(worker_refusals_job(db, refusals, stop, time.time))
    try:
        close_orphans(repo, metrics, worker)  # before this process takes any call
        agent, llm = await build_agent(settings, repo, metrics, health, api_key, db)
        telephony = PjsipTelephony(settings.sip, on_rejected=partial(rejected, metrics, refusals))
        await telephony.start(agent.handle)
        where = f"listening on {settings.sip.host}:{telephony.sip_port}"
        health.set(name, True, where)
        beacon.write_logged()
        logger.info(
            "agent ready", extra={"stage": "agent", "worker": worker, "port": telephony.sip_port}
        )
        sd_notify(f"READY=1\nSTATUS={where}")
        pinger = asyncio.create_task(watchdog(stop))
        await stop.wait()
        await pinger
        sd_notify("STOPPING=1")
        health.set(name, False, "draining")
        beacon.write_logged()
        await telephony.drain(settings.sip.drain_s)  # no new calls; let these finish
    finally:
        stop.set()
        await publisher
        beacon.stopped()
        if telephony is not None:
            await telephony.stop()  # hangs up what is left; sessions record their end
        await storing
        await flush(db, refusals, time.time())  # the drain's 503s
        if llm is not None:
            await llm.close()
        db.close()
        logger.info("agent stopped", extra={"stage": "agent", "worker": worker})
    return 0

"""`appliance run`: the whole appliance in one process tree on loopback.

Start order: store, admin (so /healthz reports progress), LLM engine and speech
models in parallel, then SIP last, so no call is answered before the agent can
speak. Ctrl-C / SIGTERM stops SIP first, then the rest, then the children.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from appliance.admin.app import create_app
from appliance.admin.server import AdminServer
from appliance.config import Settings, read_or_create_secret
from appliance.llm.server import LlmServerProcess
from appliance.observability.health import Health
from appliance.observability.logs import configure_logging
from appliance.observability.metrics import Metrics
from appliance.runtime import (
    build_agent,
    ensure_dirs,
    install_signal_handlers,
    llm_server,
    open_store,
    sd_notify,
    warm_up_llm,
    watch_health,
)
from appliance.telephony.endpoint import PjsipTelephony

logger = logging.getLogger(__name__)

COMPONENTS = ("store", "llm", "stt", "tts", "sip")


def banner(settings: Settings, sip_port: int) -> str:
    host, admin = settings.sip.host, f"{settings.admin.host}:{settings.admin.port}"
    target = f"sip:clinic@{host}:{sip_port}"
    return "\n".join(
        [
            "",
            f"  {settings.clinic.name}: voice agent ready",
            f"  Call:    {target}  ({'/'.join(settings.sip.transports).upper()})",
            f"  Health:  http://{admin}/healthz    Metrics: http://{admin}/metrics",
            f"  Test:    .venv/bin/appliance call {target} --say 'What are your opening hours?'",
            "  Stop:    Ctrl-C",
            "",
        ]
    )


async def run(settings: Settings) -> int:
    configure_logging(settings.log.level)
    ensure_dirs(settings.var_dir)
    health, metrics = Health(), Metrics()
    for name in COMPONENTS:
        health.set(name, False, "starting")
    stop = asyncio.Event()
    install_signal_handlers(stop)
    db, repo = open_store(settings)
    health.set("store", True, "sqlcipher")
    api_key = read_or_create_secret(settings.path(settings.llm.api_key_file))
    admin = AdminServer(create_app(health, metrics, repo), settings.admin.host, settings.admin.port)
    server: LlmServerProcess | None = None
    telephony: PjsipTelephony | None = None
    try:
        await admin.start()
        if settings.llm.server.enabled:
            server = llm_server(settings, api_key)
        starting = [build_agent(settings, repo, metrics, health, api_key)]
        results = await asyncio.gather(*starting, *([server.start()] if server else []))
        agent, llm = results[0]
        await warm_up_llm(llm, agent.deps.prompts.system)
        health.set("llm", True, "ready")
        telephony = PjsipTelephony(settings.sip)
        await telephony.start(agent.handle)
        health.set("sip", True, f"listening on {settings.sip.host}:{telephony.sip_port}")
        watcher = asyncio.create_task(watch_health(health, llm, stop, metrics))
        print(banner(settings, telephony.sip_port), flush=True)
        logger.info("appliance ready", extra={"stage": "run"})
        sd_notify("READY=1")
        await stop.wait()
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await llm.close()
    finally:
        sd_notify("STOPPING=1")
        logger.info("appliance stopping", extra={"stage": "run"})
        if telephony is not None:
            await telephony.stop()
        if server is not None:
            await server.stop()
        with contextlib.suppress(Exception):
            await admin.stop()
        db.close()
        logger.info("appliance stopped", extra={"stage": "run"})
    return 0

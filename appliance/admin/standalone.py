"""`appliance admin`: the admin app alone (the appliance-admin unit), with the units' health.

Under systemd there is no supervisor, so this process is where the appliance is seen
whole: its /healthz and /metrics carry its own store and listener, the LLM server (when
the configuration uses one), and every other unit through their health beacons (the SIP
edge, agent workers 0..N-1; appliance/observability/beacon_board.py). It also serves the
screen-pop, runs the retention purge (at start-up, then every [retention] purge_every_h),
exports the audit anchors (every [store] audit_anchor_every_h and each checkpoint), stores
the SIP edge's refusals per day from its beacon (appliance/governance/edge_refusals.py), scores
ended calls, puts the last 24 h's KPIs on /metrics (appliance/quality/kpi_metrics.py) and
pauses use cases whose gate fails (every [governance] enforce_every_min; enforce_job.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.config import Settings
from appliance.errors import ApplianceError, ConfigError
from appliance.observability.health import Health

if TYPE_CHECKING:
    from appliance.governance.audit_anchor import AnchorExporter
    from appliance.observability.beacon_board import BeaconBoard
    from appliance.observability.metrics import Metrics
    from appliance.store.db import Database

logger = logging.getLogger(__name__)
LLM_CHECK_S = 10.0  # s between readiness checks of the LLM server


def expected_components(settings: Settings) -> list[str]:
    """The units whose beacons the admin waits for: the SIP edge and each agent worker."""
    return ["sip-edge", *(f"agent-{i}" for i in range(settings.sip.workers))]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, "" or a wildcard: reachable from elsewhere


def admin_endpoint(settings: Settings) -> tuple[str, int, tuple[str, str] | None]:
    """(host, port, TLS files) to serve on. Raises ConfigError "admin-needs-tls" for an
    address other hosts can reach without [admin] tls_cert_file: the console, the
    screen-pop token and the sign-in would cross the network in clear."""
    admin = settings.admin
    tls = tls_files(settings)
    if tls is None and not is_loopback(admin.host):
        raise ConfigError(
            "admin-needs-tls",
            f"[admin] host {admin.host} is reachable from the network: set [admin] "
            "tls_cert_file (and the credential tls.key), or listen on 127.0.0.1",
        )
    return admin.host, admin.port, tls


def tls_files(settings: Settings) -> tuple[str, str] | None:
    """(certificate, key) when [admin] tls_cert_file is set; the key from the credential
    `tls.key` (decrypted by systemd into a private ramfs), else [admin] tls_key_file."""
    from appliance.store.keys import credential_path

    admin = settings.admin
    if not admin.tls_cert_file:
        return None
    key = credential_path("tls.key") or (
        settings.path(admin.tls_key_file) if admin.tls_key_file else None
    )
    cert = settings.path(admin.tls_cert_file)
    if key is None or not key.is_file() or not cert.is_file():
        raise ApplianceError(
            "admin-tls-missing",
            f"HTTPS needs {cert} and the credential tls.key or [admin] tls_key_file",
        )
    return str(cert), str(key)


async def watch_llm(settings: Settings, api_key: str, health: Health, stop: asyncio.Event) -> None:
    """The LLM server's readiness in health every LLM_CHECK_S (only when one is used)."""
    from appliance.llm.client import OpenAIChatModel
    from appliance.llm.server import MODEL_ALIAS

    llm = settings.llm
    client = OpenAIChatModel(
        llm.base_url, api_key, MODEL_ALIAS, timeout_s=llm.timeout_s, max_tokens=1, temperature=0.0
    )
    try:
        while not stop.is_set():
            ok = await client.ready()
            health.set("llm", ok, f"{llm.base_url} {'ready' if ok else 'not answering'}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LLM_CHECK_S)
    finally:
        await client.close()


async def run_standalone(settings: Settings, config: Path | None = None) -> int:
    """The admin unit's main process: sd_notify READY once listening, then the watchdog."""
    from appliance.admin.app import create_app
    from appliance.admin.screenpop import ScreenPop
    from appliance.admin.server import AdminServer
    from appliance.console.service import Console
    from appliance.governance.audit_anchor import export_logged, exporter_for
    from appliance.observability.beacon_board import BeaconBoard
    from appliance.observability.beacons import beacon_dir
    from appliance.observability.logs import configure_logging
    from appliance.observability.metrics import Metrics
    from appliance.services.app_db import open_store
    from appliance.services.lifecycle import ensure_dirs, install_signal_handlers

    configure_logging(settings.log.level)
    host, port, tls = admin_endpoint(settings)  # before anything is opened
    ensure_dirs(settings.var_dir)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    db, repo = open_store(settings)
    anchors = exporter_for(settings, db)
    health, metrics = Health(), Metrics()
    health.set("store", True, "sqlcipher")
    board = BeaconBoard(beacon_dir(settings.var_dir), expected_components(settings), health)
    board.refresh()  # what is up already, before the first request
    metrics.add_collector(board)
    app = create_app(
        health,
        metrics,
        repo,
        ScreenPop.from_settings(settings, db),
        Console.from_settings(db, settings),
    )
    server = AdminServer(app, host, port, tls)
    # a request served while start() still waits for the listener sees the admin as
    # starting, never a /healthz without it
    health.set("admin", False, "starting")
    try:
        await server.start()
        health.set("admin", True, f"listening on {host}:{server.port}")
        where = f"{host}:{server.port}"
        await _serve(settings, stop, db, anchors, board, health, metrics, where, config)
    finally:
        await server.stop()
        if anchors.every_s > 0:
            await export_logged(anchors.anchor_now)
        db.close()
        logger.info("admin stopped", extra={"stage": "admin"})
    return 0


async def _serve(
    settings: Settings,
    stop: asyncio.Event,
    db: Database,
    anchors: AnchorExporter,
    board: BeaconBoard,
    health: Health,
    metrics: Metrics,
    where: str,
    config: Path | None = None,
) -> None:
    """The admin's background work until SIGTERM."""
    from appliance.governance.audit_anchor import anchor_periodically
    from appliance.governance.edge_refusals import edge_refusals_job
    from appliance.governance.enforce_job import enforce_job
    from appliance.governance.retention import RetentionPolicy
    from appliance.governance.retention_job import purge_periodically
    from appliance.llm.judge_model import judge_model_from_settings
    from appliance.observability.beacon_board import follow_beacons
    from appliance.quality.evaluators import evaluators_for
    from appliance.quality.kpi_metrics import kpi_job
    from appliance.quality.schedule_jobs import schedule_job
    from appliance.quality.scorer import scoring_job
    from appliance.quality.wer_metrics import wer_job
    from appliance.services.lifecycle import sd_notify, watchdog
    from appliance.store.bootstrap import llm_api_key

    sd_notify(f"READY=1\nSTATUS=admin on {where}")

    def anchor_health(ok: bool, detail: str) -> None:
        health.set("audit-anchor", ok, detail)

    every_s = settings.retention.purge_every_h * 3600.0
    policy = RetentionPolicy.from_settings(settings)
    key = llm_api_key(settings) if settings.llm_used else ""
    judge = judge_model_from_settings(settings, key)  # None without an LLM: the judge is off
    tasks = [
        asyncio.create_task(watchdog(stop)),
        asyncio.create_task(purge_periodically(db, policy, every_s, stop, actor="admin")),
        asyncio.create_task(anchor_periodically(anchors, stop, report=anchor_health)),
        asyncio.create_task(follow_beacons(board, stop)),
        asyncio.create_task(  # the edge's refusals per day, for the platform report
            edge_refusals_job(db, lambda: board.samples_of("sip-edge"), stop, time.time)
        ),
        # every ended call's scores
        asyncio.create_task(scoring_job(db, stop, judge, evaluators_for(settings.quality))),
        asyncio.create_task(kpi_job(db, metrics, stop, settings.quality.cost)),  # 24 h KPIs
        asyncio.create_task(wer_job(db, metrics, stop)),  # WER (synthetic, corrections)
        asyncio.create_task(enforce_job(db, settings.governance, metrics, stop)),  # demotion
        asyncio.create_task(schedule_job(settings, db, stop, config)),  # weekly digest, WER
    ]
    if settings.llm_used:
        tasks.append(asyncio.create_task(watch_llm(settings, key, health, stop)))
    await stop.wait()
    await asyncio.gather(*tasks)
    sd_notify("STOPPING=1")

"""`appliance sip-edge`: the Kamailio SIP edge as its own process (unit appliance-sip-edge).

In development `appliance run` owns the edge (appliance/services/supervisor.py); in production
this process does the same work under systemd (Type=notify): it renders the Kamailio
config into the unit's RuntimeDirectory (0700), checks it (`kamailio -c`), runs Kamailio
as a child in the foreground, runs the SIP registrations with back-off, notifies READY
once the edge answers OPTIONS and pings the watchdog. On SIGTERM it drains: new calls
get 503 + Retry-After, the accounts are unregistered, calls in progress go on until
`[sip] drain_s` (or until the last one ends), then Kamailio stops. If Kamailio dies the
process exits with EDGE_DIED so that systemd restarts the unit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

import msgspec

from appliance.config import Settings
from appliance.edge.kamailio import SipEdge
from appliance.edge.options import options_ping
from appliance.edge.refusals import Totals, refusal_samples
from appliance.edge.registration import REGISTRY as REGISTRATIONS
from appliance.edge.rpc import rpc_call
from appliance.errors import TelephonyError
from appliance.observability.beacons import (
    BeaconWriter,
    Sample,
    beacon_dir,
    publish_periodically,
    registry_samples,
)
from appliance.observability.health import Health
from appliance.observability.logs import configure_logging
from appliance.observability.metrics import Metrics
from appliance.services.lifecycle import install_signal_handlers, sd_notify, watchdog
from appliance.store.keys import credential_path

logger = logging.getLogger(__name__)

EDGE_DIED = 3  # exit status when Kamailio stopped on its own (systemd: Restart=on-failure)
ANSWER_S = 15.0  # s for a fresh Kamailio to answer OPTIONS
CHECK_S = 2.0  # s between health checks while running
TLS_CREDENTIAL = "sip-tls.key"  # the edge's TLS key, decrypted by systemd


def runtime_dir(settings: Settings) -> Path:
    """$RUNTIME_DIRECTORY (systemd, 0700) or var/run/edge (development)."""
    chosen = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(chosen) if chosen else settings.var_dir / "run" / "edge"


def log_file(settings: Settings) -> Path:
    """Kamailio's redacted log: $LOGS_DIRECTORY/sip-edge.log, else var/log/sip-edge.log."""
    chosen = os.environ.get("LOGS_DIRECTORY", "").split(":")[0]
    return (Path(chosen) if chosen else settings.var_dir / "log") / "sip-edge.log"


def with_credentials(settings: Settings) -> Settings:
    """The TLS key from the credential `sip-tls.key` when systemd passed one."""
    key = credential_path(TLS_CREDENTIAL)
    if key is None or not settings.sip.tls.cert_file:
        return settings
    tls = msgspec.structs.replace(settings.sip.tls, key_file=str(key))
    return msgspec.structs.replace(settings, sip=msgspec.structs.replace(settings.sip, tls=tls))


def calls_in_progress(rpc_socket: Path) -> int | None:
    """Dialogs the edge still routes (its Call-ID table); None when it does not answer."""
    reply = rpc_call(rpc_socket, "htable.dump", ["calls"])
    if reply is None:
        return None
    result = reply.get("result")
    if not isinstance(result, list):
        return 0 if "error" in reply else None
    return sum(len(slot.get("slot", [])) for slot in result if isinstance(slot, dict))


class EdgeService:
    """One SipEdge with readiness, health and drain for systemd."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.health, self.metrics = Health(), Metrics()
        self.edge = SipEdge(settings, runtime_dir(settings), log_file(settings), self.health)
        self.stop = asyncio.Event()
        self.calls: int | None = None  # dialogs the edge routes, from its last check
        self.refused: Totals | None = None  # INVITEs the edge refused, from its last check
        self.beacon = BeaconWriter(
            beacon_dir(settings.var_dir), "sip-edge", self.health, self.samples
        )

    def samples(self) -> list[Sample]:
        """The registrations' states and failures, the calls the edge routes and the
        INVITEs it refused since Kamailio started (appliance/edge/refusals.py)."""
        found = registry_samples([REGISTRATIONS])
        if self.calls is not None:
            help_text = "Calls the SIP edge routes now (its Call-ID table)"
            found.append(Sample("appliance_sip_edge_calls", "gauge", help_text, {}, self.calls))
        if self.refused is not None:
            found += refusal_samples(self.refused, self.edge.started_at)
        return found

    async def answering(self) -> bool:
        return self.edge.running() and await options_ping(self.s.sip.host, self.s.sip.port)

    async def start(self) -> None:
        await self.edge.start()  # renders, checks (kamailio -c) and starts Kamailio
        deadline = time.monotonic() + ANSWER_S
        while not await self.answering():
            if not self.edge.running():
                raise TelephonyError("edge-died", f"kamailio exited; see {log_file(self.s)}")
            if time.monotonic() > deadline:
                raise TelephonyError("edge-not-answering", "the SIP edge does not answer OPTIONS")
            await asyncio.sleep(0.1)
        self._report(True, "answering OPTIONS")

    def _report(self, ok: bool, detail: str) -> None:
        self.health.set("sip-edge", ok, detail)
        for name, status in self.health.components().items():
            self.metrics.set_component(name, status.ok)

    def status(self) -> str:
        regs = self.edge.registrations.snapshot()
        parts = [f"{name} {state}" for name, state in sorted(regs.items())]
        where = f"SIP edge on {self.s.sip.host}:{self.s.sip.port}"
        return where + (f"; registrations: {', '.join(parts)}" if parts else "")

    async def watch(self) -> bool:
        """Check the edge until `stop`; False as soon as Kamailio is gone."""
        last = ""
        while not self.stop.is_set():
            if not self.edge.running():
                self._report(False, "kamailio exited")
                return False
            ok = await self.answering()
            self._report(ok, "answering OPTIONS" if ok else "not answering OPTIONS")
            self.calls = await asyncio.to_thread(calls_in_progress, self.edge.rpc_socket)
            await self.check_refusals()
            status = self.status()
            if status != last:
                sd_notify(f"STATUS={status}")
                last = status
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), CHECK_S)
        return True

    async def check_refusals(self) -> None:
        """The refusal totals from Kamailio; the last ones stay when it does not answer."""
        refused = await asyncio.to_thread(self.edge.refusals)
        if refused is not None:
            self.refused = refused

    async def drain(self) -> None:
        """New calls refused (503), accounts unregistered; wait for calls in progress."""
        sd_notify("STOPPING=1\nSTATUS=draining")
        confirmed = await self.edge.drain()
        deadline = time.monotonic() + self.s.sip.drain_s
        left: int | None = 0
        while confirmed and time.monotonic() < deadline and self.edge.running():
            left = await asyncio.to_thread(calls_in_progress, self.edge.rpc_socket)
            await self.check_refusals()  # the 503s of the drain, on the beacons meanwhile
            if left == 0:
                break
            await asyncio.sleep(0.5)
        logger.info(
            "sip edge drained",
            extra={"stage": "edge", "confirmed": confirmed, "calls_left": left or 0},
        )


async def run_edge(settings: Settings) -> int:
    """The unit's main process; exit 0 after a drain, EDGE_DIED if Kamailio died."""
    configure_logging(settings.log.level)
    service = EdgeService(with_credentials(settings))
    install_signal_handlers(service.stop)
    service.health.set("sip-edge", False, "starting")
    publisher = asyncio.create_task(publish_periodically(service.beacon, service.stop))
    try:
        starting = asyncio.create_task(service.start())
        stopped = asyncio.create_task(service.stop.wait())
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # SIGTERM during start-up
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            return 0
        stopped.cancel()
        starting.result()
        logger.info("sip edge ready", extra={"stage": "edge", "port": settings.sip.port})
        sd_notify(f"READY=1\nSTATUS={service.status()}")
        pinger = asyncio.create_task(watchdog(service.stop))
        alive = await service.watch()
        service.stop.set()
        await pinger
        if not alive:
            logger.error("sip edge died", extra={"stage": "edge", "code": "edge-died"})
            return EDGE_DIED
        service.health.set("sip-edge", False, "draining")
        service.beacon.write_logged()
        await service.drain()
    finally:
        service.stop.set()
        await publisher
        await service.check_refusals()  # the last totals on the last beacon
        service.beacon.stopped()
        await service.edge.stop()
    return 0

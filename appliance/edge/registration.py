"""Registering the appliance to a registrar (PBX or SIP trunk) with digest auth.

Where it lives: at the Kamailio edge, not in a pjsua2 worker. The edge owns the public
SIP address that the registrar must send INVITEs to (the Contact of the REGISTER), it
outlives worker restarts, and with several workers there is no single pjsua2 account
that could speak for all of them. Kamailio's `uac` module registers (uac_reg: digest
auth, refresh before expiry); the supervisor adds the accounts over the edge's JSON-RPC
socket, so passwords are never written to a file, and polls their state for /healthz
and the metrics. A failed registration is left disabled by Kamailio
(`reg_retry_interval` 0); it is removed and added afresh from here with exponential back-off
(`sip.registration_retry_s` doubling up to `sip.registration_retry_max_s`, +-10 %).
On drain the accounts are unregistered, so the registrar stops sending new calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge

from appliance.config import Sip, SipRegistration
from appliance.errors import ConfigError
from appliance.observability.health import Health
from appliance.store.keys import check_key_file_mode, credential_path

logger = logging.getLogger(__name__)

STATES = ("registered", "registering", "failed", "unknown")
FLAG_DISABLED, FLAG_ONGOING, FLAG_ONLINE, FLAG_AUTH = 1, 2, 4, 8  # uac.reg_info flags
POLL_S = 1.0  # s between state polls
JITTER = 0.1  # +- fraction of each back-off delay
MAX_PASSWORD = 256  # characters

Rpc = Callable[[str, list[object]], dict[str, object] | None]

REGISTRY = CollectorRegistry()
STATE = Gauge(
    "appliance_sip_registration",
    "1 for the current state of each registration (registered|registering|failed|unknown)",
    ["account", "state"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
FAILURES = Counter(
    "appliance_sip_registration_failures",
    "Registration attempts refused or unanswered",
    ["account"],
    registry=REGISTRY,
)


def registration_password(reg: SipRegistration) -> str:
    """The digest password: credential `sip-<name>.password`, else `password_file`.

    Raises ConfigError (registration-password-missing | -permissions | -empty); the
    messages name the file, never its content.
    """
    path = credential_path(f"sip-{reg.name}.password")
    if path is None:
        if not reg.password_file:
            raise ConfigError(
                "registration-password-missing",
                f"sip.registrations.{reg.name}: no credential and no password_file",
            )
        path = Path(reg.password_file).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(
                "registration-password-missing",
                f"sip.registrations.{reg.name}: no such password_file: {path}",
            )
        try:
            check_key_file_mode(path)
        except ConfigError as exc:
            raise ConfigError("registration-password-permissions", exc.message) from None
    lines = path.read_text("utf-8").splitlines()
    value = lines[0].strip() if lines else ""
    if not value or len(value) > MAX_PASSWORD:
        raise ConfigError(
            "registration-password-empty", f"sip.registrations.{reg.name}: empty password in {path}"
        )
    return value


def state_of(flags: int) -> str:
    if flags & FLAG_DISABLED:
        return "failed"
    if flags & FLAG_ONLINE:
        return "registered"
    return "registering"


@dataclass(slots=True)
class Account:
    reg: SipRegistration
    delay_s: float  # next back-off delay
    state: str = "unknown"
    attempting: bool = True  # an attempt is under way (added, enabled or refreshing)
    retry_at: float = 0.0  # monotonic s of the next retry while failed
    failures: int = 0
    last_logged: str = field(default="")


class Registrations:
    """The accounts of `sip.registrations` at the edge, polled and retried."""

    def __init__(
        self,
        sip: Sip,
        rpc: Rpc,
        health: Health | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sip = sip
        self._rpc = rpc
        self._health = health
        self._clock = clock
        first = sip.registration_retry_s
        self.accounts = [Account(r, first) for r in sip.registrations]

    def add(self, acc: Account) -> None:
        """Hand the account (with its password) to the edge; it registers at once."""
        reg = acc.reg
        params: list[object] = [
            reg.name,  # l_uuid: the Contact's user part
            reg.user,
            reg.domain or reg.registrar,
            reg.user,
            reg.domain or reg.registrar,
            reg.realm,
            reg.auth_user or reg.user,
            registration_password(reg),
            ".",  # no HA1
            f"sip:{reg.registrar}",
            reg.expires,
            0,  # flags
            0,  # reg_delay
            ".",  # socket: the edge picks
            ".",  # contact_addr: the edge's reg_contact_addr
        ]
        reply = self._rpc("uac.reg_add", params)
        acc.attempting = reply is not None and "error" not in reply
        if not acc.attempting:
            self._set(acc, "unknown", "edge did not take the account")

    def poll(self) -> None:
        """Read each account's state from the edge; retry failed ones when due."""
        now = self._clock()
        for acc in self.accounts:
            reply = self._rpc("uac.reg_info", ["l_uuid", acc.reg.name])
            if reply is not None and "error" in reply:  # not there yet (edge (re)started)
                self.add(acc)
                continue
            result = reply.get("result") if reply else None
            if not isinstance(result, dict) or not isinstance(result.get("flags"), int):
                self._set(acc, "unknown", "edge not answering")
                continue
            state = state_of(int(result["flags"]))
            if state == "failed":
                self._failed(acc, now)
            else:
                if state == "registered":
                    acc.delay_s = self._sip.registration_retry_s
                acc.attempting = True
                self._set(acc, state, state)

    def _failed(self, acc: Account, now: float) -> None:
        if acc.attempting:  # the attempt since the last poll failed
            acc.attempting = False
            acc.failures += 1
            FAILURES.labels(account=acc.reg.name).inc()
            wait = acc.delay_s * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
            acc.retry_at = now + wait
            acc.delay_s = min(acc.delay_s * 2, self._sip.registration_retry_max_s)
            logger.warning(
                "sip registration failed",
                extra={
                    "stage": "edge",
                    "code": "sip-registration-failed",
                    "account": acc.reg.name,
                    "failures": acc.failures,
                    "retry_in_s": round(wait, 1),
                },
            )
        elif now >= acc.retry_at:
            self._rpc("uac.reg_remove", [acc.reg.name])
            self.add(acc)  # a fresh record registers at once
            if acc.attempting:
                self._set(acc, "failed", f"failed {acc.failures} times; retrying")
                return
        left = max(0.0, acc.retry_at - now)
        self._set(acc, "failed", f"failed {acc.failures} times; retry in {left:.0f} s")

    def unregister_all(self, wait_s: float = 2.0) -> None:
        """Unregister every account; wait up to `wait_s` for the registrar to confirm."""
        for acc in self.accounts:
            self._rpc("uac.reg_unregister", ["l_uuid", acc.reg.name])
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and any(map(self._online, self.accounts)):
            time.sleep(0.05)

    def _online(self, acc: Account) -> bool:
        reply = self._rpc("uac.reg_info", ["l_uuid", acc.reg.name])
        result = reply.get("result") if reply else None
        flags = result.get("flags") if isinstance(result, dict) else None
        return isinstance(flags, int) and bool(flags & (FLAG_ONLINE | FLAG_ONGOING | FLAG_AUTH))

    def _set(self, acc: Account, state: str, detail: str) -> None:
        if state != acc.state:
            for name in STATES:
                STATE.labels(account=acc.reg.name, state=name).set(1 if name == state else 0)
            if state == "registered":
                logger.info("sip registered", extra={"stage": "edge", "account": acc.reg.name})
        acc.state = state
        if self._health is not None:
            self._health.set(f"sip-registration-{acc.reg.name}", state == "registered", detail)

    def snapshot(self) -> dict[str, str]:
        return {acc.reg.name: acc.state for acc in self.accounts}

    async def run(self, stop: asyncio.Event) -> None:
        """Poll (adding accounts the edge lacks) until `stop`; RPC calls off the loop."""
        while not stop.is_set():
            await asyncio.to_thread(self.poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_S)


def registration_module(sip: Sip, db_dir: Path) -> str:
    """Kamailio settings for uac_reg ("" without registrations)."""
    if not sip.registrations:
        return ""
    shortest = min(r.expires for r in sip.registrations)
    interval = max(1, min(30, shortest // 6))  # refresh at least interval + 3 s early
    return (
        'loadmodule "db_text.so"\n'
        'loadmodule "uac.so"\n'
        f'modparam("uac", "reg_db_url", "text://{db_dir}")\n'
        f'modparam("uac", "reg_contact_addr", "{sip.host}:{sip.port}")\n'
        f'modparam("uac", "reg_timer_interval", {interval})\n'
        'modparam("uac", "reg_retry_interval", 0)  # failed: disabled, retried by the appliance\n'
        'modparam("uac", "reg_keep_callid", 1)\n'
    )


UACREG_COLUMNS = (
    "id(int,auto) l_uuid(string) l_username(string) l_domain(string) r_username(string) "
    "r_domain(string) realm(string) auth_username(string) auth_password(string) "
    "auth_ha1(string) auth_proxy(string) expires(int) flags(int) reg_delay(int) "
    "contact_addr(string) socket(string) \n"
)


def write_empty_table(db_dir: Path) -> None:
    """An empty db_text uacreg table (uac needs one; accounts come over RPC, not files)."""
    db_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (db_dir / "version").write_text(
        "id(int,auto) table_name(string) table_version(int) \n0:uacreg:5\n"
    )
    (db_dir / "uacreg").write_text(UACREG_COLUMNS)

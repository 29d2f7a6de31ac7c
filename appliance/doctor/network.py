"""Ports the appliance will listen on are free, and the default-drop firewall is loaded."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from appliance.config import Settings
from appliance.doctor.report import Finding, fail, ok, warn
from appliance.isolation import ruleset
from appliance.isolation.firewall import TABLE

GROUP = "network"


@dataclass(frozen=True, slots=True)
class Port:
    role: str  # "sip", "agent worker 0", "admin", "llm"
    proto: str  # tcp | udp
    host: str
    port: int


def wanted_ports(settings: Settings) -> list[Port]:
    sip = settings.sip
    ports = [Port("sip", t, sip.host, sip.port) for t in sip.transports]
    ports += [
        Port(f"agent worker {i}", "udp", "127.0.0.1", sip.worker_port + i)
        for i in range(sip.workers)
    ]
    ports.append(Port("admin", "tcp", settings.admin.host, settings.admin.port))
    llm = settings.llm
    if llm.server.enabled:
        ports.append(Port("llm", "tcp", llm.server.host, llm.server.port))
    else:
        url = urlsplit(llm.base_url)
        if url.hostname in ("127.0.0.1", "localhost", "::1") and url.port:
            ports.append(Port("llm", "tcp", url.hostname, url.port))
    return ports


def bind_problem(port: Port) -> str | None:
    """None if (host, port) can be bound now, else why not (the socket is closed again)."""
    kind = socket.SOCK_STREAM if port.proto == "tcp" else socket.SOCK_DGRAM
    try:
        family = socket.getaddrinfo(port.host, port.port, type=kind)[0][0]
    except OSError as exc:
        return f"cannot resolve {port.host}: {exc}"
    with socket.socket(family, kind) as sock:
        if port.proto == "tcp":  # TIME_WAIT leftovers are no conflict; a listener is
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((port.host, port.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "in use by another process (the appliance itself, if it is running)"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{port.host} is not an address of this host"
            return exc.strerror or str(exc)
    return None


def check_ports(settings: Settings) -> list[Finding]:
    findings = []
    for port in wanted_ports(settings):
        name = f"{port.role} {port.proto}/{port.port}"
        problem = bind_problem(port)
        where = f"{port.host}:{port.port}"
        findings.append(
            fail(GROUP, name, f"{where} {problem}") if problem else ok(GROUP, name, f"{where} free")
        )
    return findings


def check_firewall() -> Finding:
    name = "firewall loaded (nftables, default drop)"
    try:
        loaded = ruleset.load_ruleset()
    except FileNotFoundError:
        return fail(GROUP, name, "nft not installed (Debian package nftables)")
    except (OSError, ValueError) as exc:
        text = str(exc)
        if "ermission" in text:
            return warn(GROUP, name, "cannot read the ruleset: run doctor as root")
        return fail(GROUP, name, f"cannot read the ruleset: {text[:120]}")
    tables = {item["table"]["name"] for item in loaded.get("nftables", []) if "table" in item}
    if TABLE not in tables:
        return fail(GROUP, name, f"table inet {TABLE} not loaded (ansible role firewall)")
    problems = ruleset.check_loaded(loaded)
    if problems:
        return fail(GROUP, name, "; ".join(problems[:3]))
    return ok(GROUP, name, f"table inet {TABLE}: input/forward/output policy drop")


def checks(settings: Settings) -> list[Finding]:
    return [*check_ports(settings), check_firewall()]

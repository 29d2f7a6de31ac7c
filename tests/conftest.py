"""Shared test fixtures and helpers."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = Path(os.environ.get("APPLIANCE_TEST_MODELS", REPO / "var" / "models"))
SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")  # asterisk-core-sounds-en-wav
SOUND_TEXTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports free for TCP and UDP on 127.0.0.1."""
    for _ in range(100):
        base = free_port()
        socks = []
        try:
            for port in range(base, base + count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    sock = socket.socket(socket.AF_INET, kind)
                    socks.append(sock)
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not (MODELS_DIR / ".assembled").exists() and not any(MODELS_DIR.glob("*/*")):
        pytest.fail(
            f"models are not assembled in {MODELS_DIR}: run `make test` (it assembles them)"
        )
    return MODELS_DIR


def asterisk_text(name: str) -> str:
    import gzip

    with gzip.open(SOUND_TEXTS, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    raise KeyError(name)


def store_config(tmp: Path, store_extra: str = "", extra: str = "") -> Path:
    """An appliance.toml under `tmp` with its own var dir and key files: `store_extra`
    lines go into [store], `extra` (whole tables) after it."""
    config = tmp / "appliance.toml"
    config.write_text(
        f"""
[paths]
var_dir = "{tmp}/var"
[store]
db_file = "{tmp}/var/appliance.db"
key_file = "{tmp}/keys/db.key"
audit_key_file = "{tmp}/keys/audit-signing.key"
{store_extra}
{extra}
""",
        "utf-8",
    )
    return config


def notify_messages(sock: socket.socket, until: str, timeout: float) -> list[str]:
    """sd_notify datagrams a unit under test sent to `sock`, until one contains `until`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(until in m for m in seen):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    return seen
